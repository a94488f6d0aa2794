package mediaflow_test

import (
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"unicode"

	"github.com/stretchr/testify/require"
)

// docPages are the Markdown pages whose links TestDocLinksHold checks.
func docPages(t *testing.T) []string {
	t.Helper()
	pages := []string{"README.md", "ARCHITECTURE.md", "RELIABILITY.md", "BENCHMARKS.md"}
	more, err := filepath.Glob("docs/*.md")
	require.NoError(t, err)
	require.NotEmpty(t, more)
	return append(pages, more...)
}

// markdown is a page read for its links and headings, outside fenced code
// blocks: its lines with code spans taken out (a code span holds no link),
// and the text of its headings.
type markdown struct {
	lines    []string
	headings []string
}

func readMarkdown(t *testing.T, file string) markdown {
	t.Helper()
	b, err := os.ReadFile(file)
	require.NoError(t, err)
	var md markdown
	fence := ""
	for _, line := range strings.Split(string(b), "\n") {
		trimmed := strings.TrimSpace(line)
		if fence != "" {
			if strings.HasPrefix(trimmed, fence) {
				fence = ""
			}
			md.lines = append(md.lines, "")
			continue
		}
		if strings.HasPrefix(trimmed, "```") || strings.HasPrefix(trimmed, "~~~") {
			fence = trimmed[:3]
			md.lines = append(md.lines, "")
			continue
		}
		md.lines = append(md.lines, codeSpan.ReplaceAllString(line, "code"))
		if m := heading.FindStringSubmatch(line); m != nil {
			md.headings = append(md.headings, m[1])
		}
	}
	return md
}

// codeSpan is inline code.
var codeSpan = regexp.MustCompile("`+[^`]*`+")

// mdLink is an inline link or image: [text](target) or [text](target "title").
var mdLink = regexp.MustCompile(`\]\(([^)\s]+)(?:\s+"[^"]*")?\)`)

// heading is an ATX heading: #… and its text.
var heading = regexp.MustCompile(`^#{1,6}\s+(.*?)\s*#*\s*$`)

// anchors returns the anchors GitHub makes of the page's headings (slug);
// a repeated one gets -1, -2, ….
func (md markdown) anchors() map[string]bool {
	out := map[string]bool{}
	seen := map[string]int{}
	for _, h := range md.headings {
		a := slug(h)
		if n, ok := seen[a]; ok {
			seen[a] = n + 1
			a += "-" + strconv.Itoa(n+1)
		} else {
			seen[a] = 0
		}
		out[a] = true
	}
	return out
}

// linkText is a link in a heading, which renders as its text.
var linkText = regexp.MustCompile(`\[([^\]]*)\]\([^)]*\)`)

// slug is GitHub's anchor of a heading's text: the text as rendered (a
// link by its text; code spans' backticks go with the punctuation),
// lowercased, every character but letters, digits, spaces, '-' and '_'
// dropped, spaces made '-'.
func slug(text string) string {
	text = linkText.ReplaceAllString(text, "$1")
	var b strings.Builder
	for _, r := range strings.ToLower(text) {
		switch {
		case r == ' ':
			b.WriteRune('-')
		case r == '-' || r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r):
			b.WriteRune(r)
		}
	}
	return b.String()
}

func TestDocSlug(t *testing.T) {
	for text, want := range map[string]string{
		"Hostile input: probe → result":                        "hostile-input-probe--result",
		"Search attributes, in every deployment":               "search-attributes-in-every-deployment",
		"The codec endpoint: the Temporal UI and CLI":          "the-codec-endpoint-the-temporal-ui-and-cli",
		"Events whose workflow failed: `failures` and `rerun`": "events-whose-workflow-failed-failures-and-rerun",
		"Traces (OpenTelemetry)":                               "traces-opentelemetry",
		"The local stack: `make dev`":                          "the-local-stack-make-dev",
		"[`mediaflowctl`](x.md) and DATABASE_URL":              "mediaflowctl-and-database_url",
	} {
		require.Equal(t, want, slug(text), "slug(%q)", text)
	}
}

// TestDocLinksHold: every relative link of README.md, ARCHITECTURE.md,
// RELIABILITY.md, BENCHMARKS.md and docs/*.md points to a file or directory
// that exists, and an anchor (#…) to a heading of the page it names.
func TestDocLinksHold(t *testing.T) {
	anchors := map[string]map[string]bool{}
	anchorsOf := func(file string) map[string]bool {
		if anchors[file] == nil {
			anchors[file] = readMarkdown(t, file).anchors()
		}
		return anchors[file]
	}
	for _, page := range docPages(t) {
		for n, line := range readMarkdown(t, page).lines {
			for _, m := range mdLink.FindAllStringSubmatch(line, -1) {
				target := m[1]
				if strings.Contains(target, "://") || strings.HasPrefix(target, "mailto:") {
					continue
				}
				file, anchor, _ := strings.Cut(target, "#")
				if file == "" {
					file = page
				} else {
					file = path.Join(path.Dir(page), file)
				}
				where := page + ": link " + target + " (line " + strconv.Itoa(n+1) + ")"
				info, err := os.Stat(file)
				require.NoError(t, err, "%s: no such file", where)
				if anchor == "" {
					continue
				}
				require.False(t, info.IsDir(), "%s: an anchor in a directory", where)
				require.True(t, strings.HasSuffix(file, ".md"), "%s: an anchor in a file that is not Markdown", where)
				require.True(t, anchorsOf(file)[anchor], "%s: %s has no heading whose anchor is #%s", where, file, anchor)
			}
		}
	}
}

// docPath is a page of docs/ named in code, configuration or scripts.
var docPath = regexp.MustCompile(`docs/[a-z0-9-]+\.md`)

// TestDocPathsNamedInTheTreeExist: every docs/*.md that a Go comment or
// message, the Makefile, a script, a Compose or deploy file names exists,
// so that moving a page cannot leave a pointer to nothing behind.
func TestDocPathsNamedInTheTreeExist(t *testing.T) {
	named := 0
	err := filepath.WalkDir(".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if d.IsDir() {
			if p != "." && (strings.HasPrefix(name, ".") && name != ".ci" || name == "bin" || name == "data" ||
				name == "testdata" || name == "test-output" || name == "bench-results") {
				return filepath.SkipDir
			}
			return nil
		}
		switch filepath.Ext(name) {
		case ".go", ".md", ".yml", ".yaml", ".sh", ".example":
		default:
			if name != "Makefile" && name != "Dockerfile" && name != "run" {
				return nil
			}
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		for _, doc := range docPath.FindAllString(string(b), -1) {
			named++
			_, err := os.Stat(doc)
			require.NoError(t, err, "%s names %s, which does not exist", p, doc)
		}
		return nil
	})
	require.NoError(t, err)
	require.NotZero(t, named, "no file names a page of docs/: is the walk looking in the right place?")
}

package deploy

import (
	"go/version"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// instruction is one Dockerfile instruction, continuation lines joined.
type instruction struct {
	cmd  string // upper case: FROM, RUN, USER, …
	args string
}

// readDockerfile parses the Dockerfile at the repository root into
// instructions. It knows only what this Dockerfile uses: comments,
// backslash continuations, no heredocs and no parser directives.
func readDockerfile(t *testing.T) []instruction {
	t.Helper()
	var (
		out  []instruction
		cont string
	)
	for _, line := range readLines(t, filepath.Join(repoRoot, "Dockerfile")) {
		if strings.HasPrefix(line, "#") || (line == "" && cont == "") {
			continue
		}
		if s, ok := strings.CutSuffix(line, "\\"); ok {
			cont += s + " "
			continue
		}
		line, cont = cont+line, ""
		cmd, args, _ := strings.Cut(line, " ")
		out = append(out, instruction{strings.ToUpper(cmd), strings.Join(strings.Fields(args), " ")})
	}
	require.Empty(t, cont, "Dockerfile ends with a continuation")
	return out
}

// stages splits the instructions at each FROM.
func stages(ins []instruction) [][]instruction {
	var out [][]instruction
	for _, in := range ins {
		if in.cmd == "FROM" {
			out = append(out, nil)
		}
		if len(out) > 0 {
			out[len(out)-1] = append(out[len(out)-1], in)
		}
	}
	return out
}

// fromImage returns the image of a FROM instruction's arguments, without
// --platform and the stage name.
func fromImage(args string) string {
	for _, f := range strings.Fields(args) {
		if !strings.HasPrefix(f, "--") {
			return f
		}
	}
	return ""
}

func find(ins []instruction, cmd string) []string {
	var out []string
	for _, in := range ins {
		if in.cmd == cmd {
			out = append(out, in.args)
		}
	}
	return out
}

func TestDockerfile(t *testing.T) {
	st := stages(readDockerfile(t))
	require.Len(t, st, 2, "two stages: build, then runtime")
	build, runtime := st[0], st[1]

	for _, s := range st {
		img := fromImage(s[0].args)
		tag := imageTag(img)
		require.NotEmpty(t, tag, "FROM %s: pin a tag", img)
		require.NotEqual(t, "latest", tag, "FROM %s", img)
	}

	t.Run("build stage", func(t *testing.T) {
		img := fromImage(build[0].args)
		require.True(t, strings.HasPrefix(img, "golang:"), "FROM %s", img)
		// The toolchain is the one go.mod asks for, or a later patch.
		var want string
		for _, line := range readLines(t, filepath.Join(repoRoot, "go.mod")) {
			if v, ok := strings.CutPrefix(line, "go "); ok {
				want = "go" + strings.TrimSpace(v)
			}
		}
		require.True(t, version.IsValid(want), "go.mod: no go line")
		got, _, _ := strings.Cut(imageTag(img), "-")
		got = "go" + got
		require.True(t, version.IsValid(got), "FROM %s: the tag names no Go version", img)
		require.Equal(t, version.Lang(want), version.Lang(got), "FROM %s: go.mod says %s", img, want)
		require.GreaterOrEqual(t, version.Compare(got, want), 0, "FROM %s: go.mod needs %s", img, want)

		env := strings.Join(find(build, "ENV"), " ")
		require.Contains(t, env, "CGO_ENABLED=0", "static binaries for a distroless image")

		// The image holds what ships: every command under cmd/ (the
		// server, the worker, the health probe…), none of tools/.
		var gobuild string
		for _, run := range find(build, "RUN") {
			if strings.Contains(run, "go build") {
				gobuild = run
			}
		}
		require.NotEmpty(t, gobuild, "no go build")
		commands, err := os.ReadDir(filepath.Join(repoRoot, "cmd"))
		require.NoError(t, err)
		require.GreaterOrEqual(t, len(commands), 3)
		for _, c := range commands {
			require.Contains(t, strings.Fields(gobuild), "./cmd/"+c.Name(), "go build leaves out cmd/%s", c.Name())
		}
		require.NotContains(t, gobuild, "tools/", "tools do not ship")
	})

	t.Run("runtime stage", func(t *testing.T) {
		img := fromImage(runtime[0].args)
		require.True(t, strings.HasPrefix(img, "gcr.io/distroless/static-"), "FROM %s: distroless static", img)
		require.Equal(t, "nonroot", imageTag(img), "FROM %s: the nonroot variant", img)

		users := find(runtime, "USER")
		require.NotEmpty(t, users, "the runtime stage sets USER")
		user := users[len(users)-1]
		name, _, _ := strings.Cut(user, ":")
		require.False(t, slices.Contains([]string{"root", "0"}, name), "USER %s", user)
		require.Contains(t, []string{"nonroot", "65532"}, name, "USER %s: distroless' nonroot user", user)

		hc := find(runtime, "HEALTHCHECK")
		require.Len(t, hc, 1)
		require.Contains(t, hc[0], `CMD ["/usr/local/bin/probe", "http://127.0.0.1:8080/readyz"]`)
		require.Contains(t, hc[0], "--timeout=")

		require.Equal(t, []string{`["/usr/local/bin/server"]`}, find(runtime, "CMD"), "the server by default")
		require.Empty(t, find(runtime, "ENTRYPOINT"), "compose picks the binary with command:")
		require.Contains(t, find(runtime, "COPY"), "--from=build /out/ /usr/local/bin/")
		// The default blob store's directory, the nonroot user's: no shell
		// in the image to make it, and a volume mounted there keeps its owner.
		require.Contains(t, find(runtime, "COPY"), "--from=build --chown=65532:65532 /home-data/ /home/nonroot/data/")
	})

	t.Run("dockerignore", func(t *testing.T) {
		lines := readLines(t, filepath.Join(repoRoot, ".dockerignore"))
		for _, want := range []string{".env", ".git", "data/", "bin/"} {
			require.Contains(t, lines, want, ".dockerignore")
		}
	})
}

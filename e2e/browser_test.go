package e2e

import (
	"context"
	"fmt"
	"log/slog"
	mathrand "math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"
	tlog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
)

// The helpers here let a test look at the Temporal Web UI as a person
// does: make dev's stack on free ports (uiStack), and a headless Chromium
// tab (browser) that opens its pages, fills its forms, and keeps a
// screenshot of each step.

// screenshotDir is where the screenshots go, one folder per test:
// test-output/ui/ at the module's root (gitignored), emptied at the start
// of the test that writes there.
var screenshotDir = filepath.Join("..", "test-output", "ui")

// stepTimeout bounds one browser step: a page to load, a text to show, the
// page's requests to be answered (a 2 MiB event's page decodes it several
// times: slow on a busy machine under the race detector).
const stepTimeout = 2 * time.Minute

// uiStack is make dev's stack on free ports: a Temporal dev server with its
// Web UI, whose codec endpoint (--ui-codec-endpoint) is the codec endpoint
// (CODEC_ADDR) of mediaflow's server, and the server and the worker of
// newApp against that dev server. When make cluster's UI server is built
// (bin/temporal-ui-server, make cluster-tools), its UI is started too, set
// up as deploy/temporal/ui-server.yaml sets it up. Every UI's origin is in
// CODEC_CORS_ORIGINS.
type uiStack struct {
	*testApp
	uis []webUI
}

// webUI is one Temporal Web UI of a uiStack.
type webUI struct {
	name string // whose: dev-server-ui, cluster-ui
	url  string // http://127.0.0.1:<port>
}

func newUIStack(t *testing.T, configure ...func(*appConfig)) *uiStack {
	t.Helper()
	cli, err := temporalCLI()
	require.NoError(t, err)
	devUI := webUI{"dev-server-ui", "http://127.0.0.1:" + freePort(t)}
	codecAddr := "127.0.0.1:" + freePort(t)
	attrs := make([]temporal.SearchAttributeUpdate, len(searchAttributes))
	for i, k := range searchAttributes {
		attrs[i] = k.ValueSet("")
	}
	dev, err := testsuite.StartDevServer(context.Background(), testsuite.DevServerOptions{
		ExistingPath: cli,
		ClientOptions: &client.Options{Namespace: namespace,
			Logger: tlog.NewStructuredLogger(slog.New(slog.DiscardHandler))},
		EnableUI:         true,
		UIPort:           strings.TrimPrefix(devUI.url, "http://127.0.0.1:"),
		ExtraArgs:        []string{"--ui-codec-endpoint", "http://" + codecAddr},
		LogLevel:         "error",
		SearchAttributes: temporal.NewSearchAttributes(attrs...),
		Stdout:           os.Stderr,
		Stderr:           os.Stderr,
	})
	require.NoError(t, err)
	t.Cleanup(func() { dev.Stop() })
	uis := []webUI{devUI}
	if clusterUI, ok := startClusterUI(t, dev.FrontendHostPort(), "http://"+codecAddr); ok {
		uis = append(uis, clusterUI)
	}

	origins := make([]string, len(uis))
	for i, ui := range uis {
		origins[i] = ui.url
	}
	app := newApp(t, append([]func(*appConfig){func(c *appConfig) {
		c.env["TEMPORAL_ADDRESS"] = dev.FrontendHostPort()
		c.env["CODEC_ADDR"] = codecAddr
		c.env["CODEC_CORS_ORIGINS"] = strings.Join(origins, ",")
	}}, configure...)...)
	// A UI serves pages before it reaches Temporal.
	for _, ui := range uis {
		require.Eventually(t, func() bool {
			resp, err := http.Get(ui.url + "/api/v1/namespaces/" + namespace)
			if err == nil {
				resp.Body.Close()
			}
			return err == nil && resp.StatusCode == http.StatusOK
		}, 30*time.Second, 100*time.Millisecond, "%s reaches Temporal", ui.name)
	}
	return &uiStack{testApp: app, uis: uis}
}

// startClusterUI starts make cluster's UI server, bin/temporal-ui-server,
// for the Temporal at frontend with codec as its codec endpoint, on a free
// port; false when it is not built.
func startClusterUI(t *testing.T, frontend, codec string) (webUI, bool) {
	t.Helper()
	bin, err := filepath.Abs(filepath.Join("..", "bin", "temporal-ui-server"))
	require.NoError(t, err)
	if _, err := os.Stat(bin); err != nil {
		t.Logf("%s is not built (make cluster-tools): only the dev server's UI is checked", bin)
		return webUI{}, false
	}
	port := freePort(t)
	dir := t.TempDir()
	config := fmt.Sprintf("temporalGrpcAddress: %s\nhost: 127.0.0.1\nport: %s\nenableUi: true\ndefaultNamespace: %s\n"+
		"disableNewsFetch: true\ncodec:\n  endpoint: %s\n", frontend, port, namespace, codec)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "e2e.yaml"), []byte(config), 0o600))
	cmd := exec.Command(bin, "--root", dir, "--config", ".", "--env", "e2e", "start")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	require.NoError(t, cmd.Start())
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	return webUI{"cluster-ui", "http://127.0.0.1:" + port}, true
}

// freePort returns a port of 127.0.0.1 that nothing listens on, for a
// program that must be told its port before it starts.
//
// It is taken below the kernel's ephemeral range (32768 and up on Linux),
// where every :0 listener of the tests and of the dev servers they start
// gets its port: one of those could take a port from that range between
// this check and the program's listen.
func freePort(t *testing.T) string {
	t.Helper()
	for range 100 {
		port := 20000 + mathrand.IntN(12000)
		l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		if err == nil {
			l.Close()
			return fmt.Sprint(port)
		}
	}
	t.Fatal("no free port between 20000 and 32000")
	return ""
}

// browser is one tab of a headless Chromium, for one test.
type browser struct {
	t   *testing.T
	ctx context.Context
	dir string

	mu         sync.Mutex
	shots      int
	requests   map[network.RequestID]*pageRequest
	order      []network.RequestID
	exceptions []string
}

// pageRequest is a request the page sent and what became of it.
type pageRequest struct {
	Method, URL string
	Done        bool   // answered, or failed
	Status      int64  // 0 when it failed
	Failure     string // the browser's reason when it failed (a refused CORS preflight, say)
}

// chromium returns the path of Chromium ($CHROMIUM, else chromium or
// chromium-browser on the PATH). It skips the test when there is none, and
// fails it under CI.
//
// Under -race it skips the test: the codec endpoint decodes a 2 MiB event
// about a dozen times for one page of the UI, several times slower with
// the race detector, and a page waits minutes for it on a busy machine.
// scripts/test.sh runs the browser tests again without -race.
func chromium(t *testing.T) string {
	t.Helper()
	if raceDetector {
		t.Skip("-race: the browser tests run without it (scripts/test.sh)")
	}
	if p := os.Getenv("CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatal("no Chromium on this machine: apt-get install chromium (.ci/run installs it)")
	}
	t.Skip("no Chromium on this machine (apt-get install chromium)")
	return ""
}

// newBrowser starts a headless Chromium (see chromium) with a fresh
// profile, stopped when the test ends.
func newBrowser(t *testing.T) *browser {
	t.Helper()
	path := chromium(t)
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.Flag("headless", "new"),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-component-update", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1440, 1200),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	b := &browser{t: t, ctx: ctx, dir: filepath.Join(screenshotDir, t.Name()), requests: map[network.RequestID]*pageRequest{}}
	require.NoError(t, os.RemoveAll(b.dir))
	require.NoError(t, os.MkdirAll(b.dir, 0o755))
	require.NoError(t, chromedp.Listen(ctx, b.record), "starting Chromium (%s)", path)
	t.Cleanup(func() {
		if t.Failed() {
			b.mu.Lock()
			for _, id := range b.order {
				if r := b.requests[id]; r.Status < 200 || r.Status > 299 {
					t.Logf("page request: %s %s → done %t, %d %s", r.Method, r.URL, r.Done, r.Status, r.Failure)
				}
			}
			for _, e := range b.exceptions {
				t.Logf("page exception: %s", e)
			}
			b.mu.Unlock()
		}
		cancel()
		cancelAlloc()
	})
	return b
}

// record keeps the page's requests and uncaught exceptions, logged when
// the test fails (it runs in the tab's event loop: it must return fast).
func (b *browser) record(ev any) {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch ev := ev.(type) {
	case *network.EventRequestWillBeSent:
		if _, ok := b.requests[ev.RequestID]; !ok {
			b.order = append(b.order, ev.RequestID)
		}
		b.requests[ev.RequestID] = &pageRequest{Method: ev.Request.Method, URL: ev.Request.URL}
	case *network.EventResponseReceived:
		if r := b.requests[ev.RequestID]; r != nil {
			r.Done, r.Status = true, ev.Response.Status
		}
	case *network.EventLoadingFailed:
		if r := b.requests[ev.RequestID]; r != nil {
			r.Done, r.Status, r.Failure = true, 0, ev.ErrorText
			if ev.CorsErrorStatus != nil {
				r.Failure += " (CORS: " + string(ev.CorsErrorStatus.CorsError) + ")"
			}
		}
	case *runtime.EventExceptionThrown:
		b.exceptions = append(b.exceptions, ev.ExceptionDetails.Text)
	}
}

// pageRequests returns the page's requests so far whose URL starts with
// prefix and that were answered (or failed), in the order they were sent,
// once none is in flight, or once settle has passed since the last one
// was answered: a page that never reads an answer's body keeps its
// connection busy, and Chromium (six connections to a host) holds a later
// request unsent, answered by no one. Those are logged, not returned.
func (b *browser) pageRequests(prefix string) []pageRequest {
	b.t.Helper()
	const settle = 10 * time.Second
	var out []pageRequest
	pending, answered, last := 0, 0, time.Now()
	require.Eventually(b.t, func() bool {
		b.mu.Lock()
		defer b.mu.Unlock()
		out, pending = out[:0], 0
		for _, id := range b.order {
			if r := b.requests[id]; strings.HasPrefix(r.URL, prefix) {
				if !r.Done {
					pending++
					continue
				}
				out = append(out, *r)
			}
		}
		if len(out) != answered {
			answered, last = len(out), time.Now()
		}
		return pending == 0 || time.Since(last) > settle
	}, stepTimeout, 50*time.Millisecond, "the page's requests to %s are answered", prefix)
	if pending > 0 {
		b.t.Logf("%d requests to %s still unanswered %s after the last answer (held by the browser, not sent)", pending, prefix, settle)
	}
	return out
}

// do runs steps in the tab within stepTimeout. When one fails, it saves a
// screenshot of the page and fails the test, saying what it was doing.
func (b *browser) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		b.screenshot("failed")
		b.t.Fatalf("%s: %v", what, err)
	}
}

// poll waits until the JavaScript expression is true, within the step's
// time (do's), not chromedp's default of 30 s.
func poll(expression string, opts ...chromedp.PollOption) chromedp.Action[chromedp.Void] {
	return chromedp.Poll[chromedp.Void](expression, append(opts, chromedp.WithPollingTimeout(0))...)
}

// visible selects the first element matching css that is shown (the UI
// renders some controls twice, one for each screen width, the other
// hidden) and, if text is given, whose text contains it (an option of a
// list, say).
func visible(css string, text ...string) chromedp.JSPath {
	return chromedp.JSPath(fmt.Sprintf("[...document.querySelectorAll(%q)].find(e => e.offsetParent !== null && e.innerText.includes(%q))",
		css, strings.Join(text, "")))
}

// click clicks the first shown element matching css (and containing
// text) once it has stopped moving: menus and dialogs open with an
// animation, and a click on an element still growing lands beside it.
func (b *browser) click(css string, text ...string) {
	b.t.Helper()
	b.do("clicking "+css+" "+strings.Join(text, ""), settled(css, text...), chromedp.Click(visible(css, text...)))
}

// settled waits until the first shown element matching css (and
// containing text) is there and has kept its place and size for 100 ms.
func settled(css string, text ...string) chromedp.Action[chromedp.Void] {
	sel := visible(css, text...)
	return poll(fmt.Sprintf(`(() => {
		const e = %s;
		if (!e) return false;
		const r = JSON.stringify(e.getBoundingClientRect()), key = %q;
		window.__rects = window.__rects || {};
		const same = window.__rects[key] === r;
		window.__rects[key] = r;
		return same;
	})()`, sel, sel), chromedp.WithPollingInterval(100*time.Millisecond))
}

// waitText waits until the page's text contains each of texts.
func (b *browser) waitText(texts ...string) {
	b.t.Helper()
	for _, text := range texts {
		b.do(fmt.Sprintf("waiting for %q on the page", text),
			poll(fmt.Sprintf("document.body.innerText.includes(%q)", text)))
	}
}

// text returns the page's text as a person sees it.
func (b *browser) text() string {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string]("document.body.innerText"))
	require.NoError(b.t, err)
	return s
}

// typeCode puts text into the code editor (CodeMirror, as the UI's payload
// inputs are) that css finds, as a paste does (typed key by key, the
// editor would close each bracket), then leaves the editor, which the UI
// then reformats (a click that came before would land elsewhere), and
// checks that the editor holds it.
func (b *browser) typeCode(css, text string) {
	b.t.Helper()
	sel := visible(css)
	b.do("typing into "+css, settled(css),
		chromedp.Evaluate[chromedp.Void](fmt.Sprintf("(%s).focus()", sel)),
		func(ctx context.Context, t *chromedp.Target) (chromedp.Void, error) {
			_, err := chromedp.Call(ctx, input.InsertText, input.InsertTextParams{Text: text})
			return chromedp.Void{}, err
		},
		chromedp.Evaluate[chromedp.Void]("document.activeElement.blur()"),
		poll(fmt.Sprintf("(%s).innerText.trim() !== ''", sel)))
}

// screenshot saves what the tab shows as <dir>/<n>-<name>.png, numbered in
// the test's order, logs its path and returns it.
func (b *browser) screenshot(name string) string {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		b.t.Errorf("screenshot %s: %v", name, err)
		return ""
	}
	b.mu.Lock()
	b.shots++
	path := filepath.Join(b.dir, fmt.Sprintf("%02d-%s.png", b.shots, name))
	b.mu.Unlock()
	require.NoError(b.t, os.WriteFile(path, png, 0o644))
	abs, _ := filepath.Abs(path)
	b.t.Logf("screenshot: %s", abs)
	return abs
}

// openWorkflow opens the page of workflow id's latest run in the UI at ui,
// waits until it shows each of texts (a value of its input, say: the UI
// shows the payloads as they are until the codec endpoint has decoded
// them), and returns the path of its screenshot.
func (b *browser) openWorkflow(ui, id string, texts ...string) string {
	b.t.Helper()
	b.do("opening workflow "+id, chromedp.Navigate(ui+"/namespaces/"+namespace+"/workflows/"+url.PathEscape(id)))
	b.waitText(append([]string{id, "Input"}, texts...)...)
	return b.screenshot("workflow-" + fileName(id))
}

// openWorkflowList opens the UI's workflow list, filtered by query (a
// visibility query; "" for all), waits until it shows each of texts (a
// workflow ID, say), and returns the path of its screenshot.
func (b *browser) openWorkflowList(ui, query string, texts ...string) string {
	b.t.Helper()
	u := ui + "/namespaces/" + namespace + "/workflows"
	if query != "" {
		u += "?query=" + url.QueryEscape(query)
	}
	b.do("opening the workflow list", chromedp.Navigate(u))
	b.waitText(append([]string{"Workflow ID"}, texts...)...)
	return b.screenshot("workflows")
}

// fileName is s with what a file name should not hold replaced.
func fileName(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '/' || r == '\\' || r == ':' || r == ' ' {
			return '_'
		}
		return r
	}, s)
}

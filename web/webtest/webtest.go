// Package webtest drives headless Chromium (Debian's chromium package) from Go tests through
// chromedp, against a real server. Browser fails the test when Chromium is missing under
// CI=true (.ci/run installs it) and skips it with the reason otherwise.
package webtest

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// ExecPath is where Debian's chromium package installs the browser.
const ExecPath = "/usr/bin/chromium"

// Browser is one headless Chromium with a fresh profile, closed when the test ends.
type Browser struct {
	// Ctx is the chromedp context of the browser's tab: pass it to chromedp.Run.
	Ctx context.Context

	mu      sync.Mutex
	dialogs []string
}

// Path returns the Chromium binary, or "" when there is none.
func Path() string {
	if _, err := os.Stat(ExecPath); err == nil {
		return ExecPath
	}
	if p, err := exec.LookPath("chromium"); err == nil {
		return p
	}
	return ""
}

// New starts a headless Chromium for t with a fresh --user-data-dir; each action is bounded
// by timeout (default 60s for the whole test's browser work). JavaScript dialogs (alert,
// confirm) are recorded (Dialogs) and dismissed, so a page that opens one does not hang.
func New(t testing.TB, timeout time.Duration) *Browser {
	t.Helper()
	path := Path()
	if path == "" {
		msg := "headless Chromium is not installed (" + ExecPath + "): apt-get install -y chromium"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	if timeout <= 0 {
		timeout = 60 * time.Second
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("no-default-browser-check", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(actx)
	tctx, cancelTimeout := context.WithTimeout(ctx, timeout)
	b := &Browser{Ctx: tctx}
	t.Cleanup(func() {
		cancelTimeout()
		cancelCtx()
		cancelAlloc()
	})
	if err := chromedp.Do(ctx); err != nil { // start the browser now, so a broken install fails here
		t.Fatalf("start chromium: %v", err)
	}
	dialogs := chromedp.Events(ctx, page.JavascriptDialogOpening)
	go func() {
		for ev, err := range dialogs {
			if err != nil {
				return
			}
			b.mu.Lock()
			b.dialogs = append(b.dialogs, string(ev.Type)+": "+ev.Message)
			b.mu.Unlock()
			_, _ = chromedp.Call(ctx, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: false})
		}
	}()
	return b
}

// Dialogs returns the JavaScript dialogs pages opened so far ("alert: 1").
func (b *Browser) Dialogs() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.dialogs...)
}

// Do runs steps in the browser's tab and fails t with what was being done.
func (b *Browser) Do(t testing.TB, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(b.Ctx, steps...); err != nil {
		t.Fatalf("%s: %v (%s)", what, err, b.where())
	}
}

// Follow runs trigger (a click or submit that loads a new page) and waits for the new page's
// load event, so what runs next reads the new page, never the old one.
func (b *Browser) Follow(t testing.TB, what string, trigger chromedp.Action[chromedp.Void]) {
	t.Helper()
	if _, err := chromedp.Run(b.Ctx, chromedp.WaitEvent(page.LoadEventFired, nil, trigger)); err != nil {
		t.Fatalf("%s: %v (%s)", what, err, b.where())
	}
}

// Get runs a in b's tab and returns its value, failing t with what was being done.
func Get[T any](t testing.TB, b *Browser, what string, a chromedp.Action[T]) T {
	t.Helper()
	v, err := chromedp.Run(b.Ctx, a)
	if err != nil {
		t.Fatalf("%s: %v (%s)", what, err, b.where())
	}
	return v
}

// where describes the page the browser is on, for a failure: its URL and the start of its text.
// It uses a fresh short timeout, since the test's may be what ran out.
func (b *Browser) where() string {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(b.Ctx), 5*time.Second)
	defer cancel()
	url, _ := chromedp.Run(ctx, chromedp.Location())
	text, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body ? document.body.innerText.slice(0, 600) : ""`))
	return "page " + url + ": " + text
}

// SignIn signs in at base with an API token and waits for the console.
func (b *Browser) SignIn(t testing.TB, base, token string) {
	t.Helper()
	b.Do(t, "sign in",
		chromedp.Navigate(base+"/signin"),
		chromedp.WaitVisible(chromedp.ID("token")),
		chromedp.SendKeys(chromedp.ID("token"), token),
	)
	b.Follow(t, "submit the token", chromedp.Submit(chromedp.ID("token")))
	b.Do(t, "signed in", chromedp.WaitVisible(chromedp.CSS("form.signout")))
}

// Screenshot writes a PNG of the whole page to name under docs/img of the repository (found
// from the working directory), when update is true (the tests' -update flag); otherwise it does
// nothing, so a normal test run leaves the tree alone.
func (b *Browser) Screenshot(t testing.TB, update bool, name string) {
	t.Helper()
	if !update {
		return
	}
	png := Get(t, b, "screenshot "+name, chromedp.FullScreenshot(100))
	dir, err := repoRoot()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "docs", "img", name)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("wrote %s (%d bytes)", path, len(png))
}

func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", os.ErrNotExist
		}
		dir = parent
	}
}

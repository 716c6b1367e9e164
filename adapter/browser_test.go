package adapter

import (
	"bytes"
	"context"
	"fmt"
	"image/png"
	"math"
	"math/rand/v2"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/stretchr/testify/require"
)

// chromiumBinary returns the headless browser, skipping the test where
// there is none, and failing it under CI (.ci/run installs Debian's
// chromium).
func chromiumBinary(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("starts a browser")
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatal("chromium not found on PATH: CI must install it (.ci/run installs Debian's chromium)")
	}
	t.Skip("chromium not found on PATH; install it (apt-get install chromium) to run this test")
	return ""
}

// runChromium runs headless chromium with args on url and returns stdout.
func runChromium(t *testing.T, bin, url string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	base := []string{
		"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--disable-dev-shm-usage", "--user-data-dir=" + t.TempDir(),
	}
	cmd := exec.CommandContext(ctx, bin, append(append(base, args...), url)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Run(); err != nil {
		t.Fatalf("chromium %v: %v\n%s", args, err, stderr.String())
	}
	return stdout.String()
}

// TestStatusPageInBrowser loads the series page of a running adapter with
// data in headless Chromium: the DOM it builds holds the chart's parts, and
// the screenshot shows them painted in their colours.
func TestStatusPageInBrowser(t *testing.T) {
	bin := chromiumBinary(t)
	end := t0 + 3*time.Hour.Milliseconds()
	f := applied(t, baseConfig, Options{Now: func() time.Time { return time.UnixMilli(end + 20_000) }})

	// Three hours of a noisy sine, fitted, then a spike in the open cell.
	lset := labels.FromStrings("__name__", "sine", "instance", "a", "job", "app")
	opts, ok := f.a.Engine().Route(lset)
	require.True(t, ok)
	ser, _, err := f.a.Store().GetOrCreate(lset, opts)
	require.NoError(t, err)
	r := rand.New(rand.NewPCG(7, 7))
	for ts := t0; ts < end; ts += 60_000 {
		require.NoError(t, ser.Append(ts, sine(ts)+2*r.NormFloat64()))
	}
	require.Equal(t, 1, f.a.Engine().RetrainDue(context.Background(), time.UnixMilli(end+10_000)))
	require.Positive(t, f.a.Engine().Evaluate(time.UnixMilli(end+20_000)))
	require.NoError(t, ser.Append(end, 200))

	srv := httptest.NewServer(f.h)
	defer srv.Close()
	ref := f.a.Engine().Status()[0].Ref
	url := fmt.Sprintf("%s/series?ref=%d", srv.URL, ref)

	dom := runChromium(t, bin, url, "--dump-dom")
	for _, want := range []string{`<svg id="chart"`, `<path class="actual"`, `<path class="band"`, `<path class="yhat"`, `<line class="now"`, `<circle class="anomaly"`, "History and forecast (fourier)"} {
		require.Contains(t, dom, want)
	}
	require.Contains(t, runChromium(t, bin, srv.URL+"/", "--dump-dom"), `series?ref=`)

	shot := filepath.Join(t.TempDir(), "series.png")
	runChromium(t, bin, url, "--window-size=1000,900", "--hide-scrollbars", "--screenshot="+shot)
	raw, err := os.ReadFile(shot)
	require.NoError(t, err)
	img, err := png.Decode(bytes.NewReader(raw))
	require.NoError(t, err)
	// Pixels of each colour the chart paints: the band (#4c78a8 at 18%
	// over white), the forecast line (#4c78a8), the anomaly dot (#d62728)
	// and the now line (#ff7f0e).
	colours := map[string][3]float64{
		"band": {223, 231, 239}, "yhat": {76, 120, 168}, "anomaly": {214, 39, 40}, "now": {255, 127, 14},
	}
	counts := map[string]int{}
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			cr, cg, cb, _ := img.At(x, y).RGBA()
			px := [3]float64{float64(cr >> 8), float64(cg >> 8), float64(cb >> 8)}
			for name, c := range colours {
				if math.Abs(px[0]-c[0]) <= 6 && math.Abs(px[1]-c[1]) <= 6 && math.Abs(px[2]-c[2]) <= 6 {
					counts[name]++
				}
			}
		}
	}
	t.Logf("screenshot %dx%d, %d bytes; pixels by colour: %v", b.Dx(), b.Dy(), len(raw), counts)
	require.Greater(t, counts["band"], 2000, "band painted")
	require.Greater(t, counts["yhat"], 200, "forecast line painted")
	require.Greater(t, counts["anomaly"], 10, "anomaly dot painted")
	if dir := os.Getenv("TP_SCREENSHOT_DIR"); dir != "" {
		require.NoError(t, os.WriteFile(filepath.Join(dir, "series.png"), raw, 0o644))
	}
	require.Greater(t, counts["now"], 50, "now line painted")
	if dir := os.Getenv("TP_SCREENSHOT_DIR"); dir != "" {
		require.NoError(t, os.WriteFile(filepath.Join(dir, "series.png"), raw, 0o644))
	}
	require.False(t, strings.Contains(dom, "<script"), "no scripts")
	if os.Getenv("UPDATE_SCREENSHOT") != "" {
		// The README's screenshot, regenerated with make screenshot.
		require.NoError(t, os.WriteFile(screenshotPath, raw, 0o644))
		t.Logf("wrote %s", screenshotPath)
	}
}

// screenshotPath is the README's screenshot of a series page, written by
// TestStatusPageInBrowser when UPDATE_SCREENSHOT is set.
const screenshotPath = "../docs/status-page.png"

// TestScreenshotCommitted checks that the README's screenshot is in the
// repository and is a PNG of the size the browser test takes.
func TestScreenshotCommitted(t *testing.T) {
	raw, err := os.ReadFile(screenshotPath)
	require.NoError(t, err, "the README shows it: UPDATE_SCREENSHOT=1 go test -run TestStatusPageInBrowser ./adapter/ writes it")
	cfg, err := png.DecodeConfig(bytes.NewReader(raw))
	require.NoError(t, err, "%s is a PNG", screenshotPath)
	require.Equal(t, 1000, cfg.Width)
	require.Equal(t, 900, cfg.Height)
}

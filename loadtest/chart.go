package loadtest

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"
)

// Timeline keeps latency samples by the second they were taken in, for a
// chart of percentiles over time.
type Timeline struct {
	mu      sync.Mutex
	start   time.Time
	seconds [][]time.Duration
}

// NewTimeline starts a timeline now.
func NewTimeline() *Timeline { return &Timeline{start: time.Now()} }

// Add records a sample taken now.
func (t *Timeline) Add(d time.Duration) {
	s := int(time.Since(t.start) / time.Second)
	t.mu.Lock()
	for len(t.seconds) <= s {
		t.seconds = append(t.seconds, nil)
	}
	t.seconds[s] = append(t.seconds[s], d)
	t.mu.Unlock()
}

// Point is one second of the timeline.
type Point struct {
	Second int     `json:"second"`
	Count  int     `json:"count"`
	P50    float64 `json:"p50_ms"`
	P90    float64 `json:"p90_ms"`
	P99    float64 `json:"p99_ms"`
}

// Points returns the percentiles of each second.
func (t *Timeline) Points() []Point {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := []Point{}
	for i, s := range t.seconds {
		if len(s) == 0 {
			continue
		}
		c := slices.Clone(s)
		slices.Sort(c)
		at := func(p float64) float64 { return ms(c[int(p*float64(len(c)-1))]) }
		out = append(out, Point{Second: i, Count: len(c), P50: at(0.5), P90: at(0.9), P99: at(0.99)})
	}
	return out
}

// SVG draws p50, p90 and p99 over time as a line chart people can open in
// a browser; no scripts, no external files.
func SVG(title string, points []Point) string {
	const w, h, left, right, top, bottom = 800.0, 400.0, 60.0, 20.0, 40.0, 40.0
	maxY := 1.0
	maxX := 1
	for _, p := range points {
		maxY = max(maxY, p.P99)
		maxX = max(maxX, p.Second)
	}
	maxY = niceCeil(maxY)
	x := func(s int) float64 { return left + (w-left-right)*float64(s)/float64(maxX) }
	y := func(v float64) float64 { return h - bottom - (h-top-bottom)*v/maxY }
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%.0f" height="%.0f" viewBox="0 0 %.0f %.0f" font-family="sans-serif" font-size="12">`, w, h, w, h)
	fmt.Fprintf(&b, `<rect width="100%%" height="100%%" fill="white"/><text x="%.0f" y="20" font-size="14">%s</text>`, left, escapeXML(title))
	for i := 0; i <= 4; i++ {
		v := maxY * float64(i) / 4
		fmt.Fprintf(&b, `<line x1="%.1f" x2="%.1f" y1="%.1f" y2="%.1f" stroke="#ddd"/><text x="%.1f" y="%.1f" text-anchor="end">%.3g ms</text>`,
			left, w-right, y(v), y(v), left-6, y(v)+4, v)
	}
	fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" text-anchor="middle">seconds</text>`, (left+w-right)/2, h-8)
	for _, tick := range []int{0, maxX / 2, maxX} {
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" text-anchor="middle">%d</text>`, x(tick), h-bottom+16, tick)
	}
	series := []struct {
		name, color string
		v           func(Point) float64
	}{
		{"p50", "#1f77b4", func(p Point) float64 { return p.P50 }},
		{"p90", "#ff7f0e", func(p Point) float64 { return p.P90 }},
		{"p99", "#d62728", func(p Point) float64 { return p.P99 }},
	}
	for i, s := range series {
		var pts []string
		for _, p := range points {
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", x(p.Second), y(s.v(p))))
		}
		fmt.Fprintf(&b, `<polyline fill="none" stroke="%s" stroke-width="2" points="%s"/>`, s.color, strings.Join(pts, " "))
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" fill="%s">%s</text>`, w-right-120+float64(i)*40, 20.0, s.color, s.name)
	}
	b.WriteString(`</svg>`)
	return b.String()
}

func niceCeil(v float64) float64 {
	for _, step := range []float64{1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000} {
		if v <= step {
			return step
		}
	}
	return v
}

func escapeXML(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;").Replace(s)
}

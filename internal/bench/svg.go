package bench

import (
	"fmt"
	"image/color"
	"os"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
)

// WriteSVG draws ch with gonum/plot (a maintained plotting library: axes, ticks, legends and
// SVG output we would otherwise write and keep by hand) and writes it to path.
func WriteSVG(path string, ch Chart) error {
	p := plot.New()
	p.Title.Text = ch.Title
	p.X.Label.Text = ch.XLabel
	p.Y.Label.Text = ch.YLabel
	p.Add(plotter.NewGrid())
	for i, s := range ch.Series {
		switch ch.Kind {
		case ChartHistogram:
			if len(s.Y) == 0 {
				continue
			}
			vals := make(plotter.Values, len(s.Y))
			copy(vals, s.Y)
			h, err := plotter.NewHist(vals, histBins(len(vals)))
			if err != nil {
				return fmt.Errorf("chart %s: %w", ch.File, err)
			}
			h.FillColor = plotutil.Color(i)
			h.LineStyle.Color = color.Gray{Y: 80}
			p.Add(h)
			if s.Name != "" {
				p.Legend.Add(s.Name, h)
			}
		default:
			if len(s.X) != len(s.Y) || len(s.X) == 0 {
				continue
			}
			pts := make(plotter.XYs, len(s.X))
			for j := range s.X {
				pts[j].X, pts[j].Y = s.X[j], s.Y[j]
			}
			l, err := plotter.NewLine(pts)
			if err != nil {
				return fmt.Errorf("chart %s: %w", ch.File, err)
			}
			l.Color = plotutil.Color(i)
			l.Width = vg.Points(1.5)
			p.Add(l)
			if s.Name != "" {
				p.Legend.Add(s.Name, l)
			}
		}
	}
	p.Legend.Top = true
	p.Legend.Left = true
	w, err := p.WriterTo(8*vg.Inch, 4*vg.Inch, "svg")
	if err != nil {
		return fmt.Errorf("chart %s: %w", ch.File, err)
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := w.WriteTo(f); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	return f.Close()
}

// histBins is about the square root of the samples, between 10 and 60 bins.
func histBins(n int) int {
	b := 10
	for b*b < n && b < 60 {
		b++
	}
	return b
}

/// A line chart as an inline SVG string: no scripts, no external assets, so the report opens anywhere.
struct SVGPlot {
    struct Series {
        let name: String
        let color: String
        let points: [(x: Double, y: Double)]
        var dashed = false
    }

    var title: String
    var xLabel: String
    var yLabel: String
    var series: [Series]
    /// Explicit x ticks (value, label); nil for evenly spaced numeric ticks.
    var xTicks: [(Double, String)]?
    var width = 760.0
    var height = 320.0

    private let left = 64.0, right = 34.0, top = 30.0, bottom = 46.0

    func render() -> String {
        let points = series.flatMap(\.points)
        guard !points.isEmpty else {
            return "<p class=\"empty\">\(escapeHTML(title)): no samples</p>"
        }
        let xMin = xTicks?.first?.0 ?? points.map(\.x).min()!
        var xMax = max(xTicks?.last?.0 ?? points.map(\.x).max()!, points.map(\.x).max()!)
        if xMax <= xMin { xMax = xMin + 1 }
        let yMaxRaw = max(points.map(\.y).max()!, 0.001)
        let yStep = niceStep(yMaxRaw / 5)
        let yMax = (yMaxRaw / yStep).rounded(.up) * yStep
        let plotW = width - left - right, plotH = height - top - bottom
        func px(_ x: Double) -> Double { left + (x - xMin) / (xMax - xMin) * plotW }
        func py(_ y: Double) -> Double { top + plotH - y / yMax * plotH }

        var svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 \(Int(width)) \(Int(height))\" width=\"\(Int(width))\" height=\"\(Int(height))\" font-family=\"sans-serif\" font-size=\"11\">"
        svg += "<text x=\"\(Int(width / 2))\" y=\"18\" text-anchor=\"middle\" font-size=\"13\" font-weight=\"bold\">\(escapeHTML(title))</text>"
        // Grid and y axis labels.
        var y = 0.0
        while y <= yMax + yStep / 2 {
            let yy = py(y)
            svg += "<line x1=\"\(f(left))\" y1=\"\(f(yy))\" x2=\"\(f(width - right))\" y2=\"\(f(yy))\" stroke=\"#ddd\"/>"
            svg += "<text x=\"\(f(left - 6))\" y=\"\(f(yy + 4))\" text-anchor=\"end\">\(trim(y))</text>"
            y += yStep
        }
        let ticks = xTicks ?? evenTicks(xMin, xMax)
        for (value, label) in ticks where value >= xMin && value <= xMax {
            let xx = px(value)
            svg += "<line x1=\"\(f(xx))\" y1=\"\(f(top))\" x2=\"\(f(xx))\" y2=\"\(f(top + plotH))\" stroke=\"#eee\"/>"
            svg += "<text x=\"\(f(xx))\" y=\"\(f(top + plotH + 15))\" text-anchor=\"middle\">\(escapeHTML(label))</text>"
        }
        svg += "<rect x=\"\(f(left))\" y=\"\(f(top))\" width=\"\(f(plotW))\" height=\"\(f(plotH))\" fill=\"none\" stroke=\"#888\"/>"
        svg += "<text x=\"\(f(left + plotW / 2))\" y=\"\(f(height - 8))\" text-anchor=\"middle\">\(escapeHTML(xLabel))</text>"
        svg += "<text transform=\"translate(14 \(f(top + plotH / 2))) rotate(-90)\" text-anchor=\"middle\">\(escapeHTML(yLabel))</text>"
        for (i, s) in series.enumerated() where !s.points.isEmpty {
            let path = s.points.map { "\(f(px($0.x))),\(f(py($0.y)))" }.joined(separator: " ")
            let dash = s.dashed ? " stroke-dasharray=\"5 3\"" : ""
            svg += "<polyline fill=\"none\" stroke=\"\(s.color)\" stroke-width=\"1.6\"\(dash) points=\"\(path)\"/>"
            if s.points.count == 1 {
                svg += "<circle cx=\"\(f(px(s.points[0].x)))\" cy=\"\(f(py(s.points[0].y)))\" r=\"3\" fill=\"\(s.color)\"/>"
            }
            let ly = top + 14 + Double(i) * 14
            svg += "<line x1=\"\(f(left + 10))\" y1=\"\(f(ly - 4))\" x2=\"\(f(left + 28))\" y2=\"\(f(ly - 4))\" stroke=\"\(s.color)\" stroke-width=\"2\"\(dash)/>"
            svg += "<text x=\"\(f(left + 32))\" y=\"\(f(ly))\">\(escapeHTML(s.name))</text>"
        }
        return svg + "</svg>"
    }

    private func evenTicks(_ lo: Double, _ hi: Double) -> [(Double, String)] {
        let step = niceStep((hi - lo) / 8)
        var ticks: [(Double, String)] = []
        var x = (lo / step).rounded(.up) * step
        while x <= hi {
            ticks.append((x, trim(x)))
            x += step
        }
        return ticks
    }

    private func f(_ v: Double) -> String { format(v, decimals: 1) }

    private func trim(_ v: Double) -> String {
        var text = format(v, decimals: 3)
        while text.hasSuffix("0") { text.removeLast() }
        if text.hasSuffix(".") { text.removeLast() }
        return text
    }
}

/// 1, 2 or 5 times a power of ten, at least `raw`.
func niceStep(_ raw: Double) -> Double {
    guard raw > 0, raw.isFinite else { return 1 }
    var power = 1.0
    while power * 10 <= raw { power *= 10 }
    while power > raw { power /= 10 }
    for m in [1.0, 2.0, 5.0, 10.0] where power * m >= raw { return power * m }
    return power * 10
}

func escapeHTML(_ text: String) -> String {
    var out = ""
    out.reserveCapacity(text.utf8.count)
    for ch in text {
        switch ch {
        case "&": out += "&amp;"
        case "<": out += "&lt;"
        case ">": out += "&gt;"
        case "\"": out += "&quot;"
        default: out.append(ch)
        }
    }
    return out
}

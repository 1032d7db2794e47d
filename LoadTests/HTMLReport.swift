import Glibc

/// The `--html` report: one self-contained page with the result table, the latency percentile
/// distribution and latency over time as inline SVG.
enum HTMLReport {
    static func render(_ result: LoadResult) -> String {
        var html = """
            <!doctype html><html lang="en"><head><meta charset="utf-8">
            <title>attendance-load \(escapeHTML(result.scenario))</title>
            <style>body{font-family:sans-serif;margin:24px;color:#222;max-width:820px}
            table{border-collapse:collapse;margin:8px 0 16px}td,th{border:1px solid #ccc;padding:3px 8px;text-align:left}
            th{background:#f4f4f4}td.n{text-align:right;font-variant-numeric:tabular-nums}.empty{color:#888}</style>
            </head><body><h1>attendance-load: \(escapeHTML(result.scenario))</h1>

            """
        html += "<p>Run of \(format(result.durationS, decimals: 1)) s. Latencies are measured from each action's scheduled time (coordinated-omission safe).</p>"
        html += "<h2>Parameters</h2><table>"
        for (name, value) in result.parameters { html += "<tr><th>\(escapeHTML(name))</th><td>\(escapeHTML(value))</td></tr>" }
        html += "</table><h2>Result</h2><table>"
        func row(_ name: String, _ value: String?) { html += "<tr><th>\(escapeHTML(name))</th><td class=\"n\">\(escapeHTML(value ?? "null"))</td></tr>" }
        row("clients", result.clients.map(String.init))
        row("check-ins", result.checkins.map(String.init))
        row("errors", String(result.errors))
        row("lost events", result.lostEvents.map(String.init))
        row("duplicate events", result.duplicateEvents.map(String.init))
        row("messages per second", result.messagesPerS.map { format($0, decimals: 0) })
        row("hub RSS (KiB)", result.hubRssKiB.map(String.init))
        row("hub RSS per connection (bytes)", result.hubRssPerConnBytes.map(String.init))
        html += "</table>"

        let latencies = [(result.ackLabel, result.ack), (result.eventLabel, result.event)].compactMap { label, recorder in
            recorder.flatMap { r in r.summary.map { (label, r, $0) } }
        }
        if !latencies.isEmpty {
            html += "<h2>Latency (ms)</h2><table><tr><th></th><th>p50</th><th>p90</th><th>p99</th><th>p99.9</th><th>max</th><th>samples</th></tr>"
            for (label, _, s) in latencies {
                html += "<tr><th>\(escapeHTML(label))</th>" + [s.p50, s.p90, s.p99, s.p999, s.max].map { "<td class=\"n\">\(format($0, decimals: 3))</td>" }.joined()
                html += "<td class=\"n\">\(s.count)</td></tr>"
            }
            html += "</table>"
            let colors = ["#1f77b4", "#d62728"]
            html += percentilePlot(latencies.enumerated().map { i, l in (l.0, colors[i % 2], l.1) })
            html += overTimePlot(latencies.enumerated().map { i, l in (l.0, colors[i % 2], l.1) })
        }
        if result.rssSeries.count > 1 {
            html += SVGPlot(title: "Hub resident memory", xLabel: "elapsed (s)", yLabel: "VmRSS (MiB)",
                            series: [.init(name: "VmRSS", color: "#2ca02c",
                                           points: result.rssSeries.map { ($0.elapsedS, Double($0.kib) / 1024) })]).render()
        }
        if !result.errorKinds.isEmpty {
            html += "<h2>Errors</h2><table>"
            for (kind, count) in result.errorKinds { html += "<tr><th>\(escapeHTML(kind))</th><td class=\"n\">\(count)</td></tr>" }
            html += "</table>"
        }
        if !result.notes.isEmpty {
            html += "<h2>Notes</h2><ul>" + result.notes.map { "<li>\(escapeHTML($0))</li>" }.joined() + "</ul>"
        }
        return html + "</body></html>\n"
    }

    /// HdrHistogram-style: x is log10(1 / (1 − percentile)), so the tail gets the room it deserves.
    private static func percentilePlot(_ recorders: [(String, String, LatencyRecorder)]) -> String {
        let maxX = 5.0
        func x(_ percentile: Double) -> Double {
            let remaining = 1 - percentile / 100
            return remaining <= 0 ? maxX : min(maxX, log10(1 / remaining))
        }
        let ticks: [(Double, String)] = [(0, "0%"), (1, "90%"), (2, "99%"), (3, "99.9%"), (4, "99.99%"), (5, "99.999%")]
        let series = recorders.map { name, color, recorder in
            SVGPlot.Series(name: name, color: color, points: recorder.distribution.map { (x($0.percentile), $0.ms) })
        }
        return SVGPlot(title: "Latency by percentile", xLabel: "percentile", yLabel: "latency (ms)",
                       series: series, xTicks: ticks).render()
    }

    private static func overTimePlot(_ recorders: [(String, String, LatencyRecorder)]) -> String {
        var series: [SVGPlot.Series] = []
        for (name, color, recorder) in recorders {
            series.append(.init(name: "\(name) p99", color: color, points: recorder.series.map { ($0.elapsedS, $0.p99Ms) }))
            series.append(.init(name: "\(name) p50", color: color + "66", points: recorder.series.map { ($0.elapsedS, $0.p50Ms) }))
        }
        for (name, color, recorder) in recorders {
            series.append(.init(name: "\(name) max", color: color, points: recorder.series.map { ($0.elapsedS, $0.maxMs) }, dashed: true))
        }
        return SVGPlot(title: "Latency over time (per second)", xLabel: "elapsed (s)", yLabel: "latency (ms)",
                       series: series).render()
    }
}

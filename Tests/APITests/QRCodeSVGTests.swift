@testable import API
import XCTest

final class QRCodeSVGTests: XCTestCase {
    /// The quiet zone is empty and the three finder patterns sit in their corners: enough to know
    /// the modules are placed where a scanner looks for them.
    func testSymbolLayout() throws {
        let svg = String(decoding: try XCTUnwrap(QRCodeSVG.render("https://attend.example.edu/checkin?qr=c_abc.1.AAAA")), as: UTF8.self)
        let viewBox = try XCTUnwrap(svg.range(of: #"viewBox="0 0 "#))
        let size = Int(svg[viewBox.upperBound...].prefix { $0.isNumber })!
        let modules = size - 2 * QRCodeSVG.quietZone
        XCTAssertEqual((modules - 17) % 4, 0, "a QR symbol is 17 + 4·version modules wide")
        // Rebuild the module grid from the path's runs "M{x} {y}h{n}v1h-{n}z".
        var dark = Set<[Int]>()
        let path = try XCTUnwrap(svg.range(of: #" d=""#)).upperBound
        let runs = svg[path...].prefix { $0 != "\"" }.split(separator: "z")
        for run in runs {
            let numbers = run.split(whereSeparator: { !$0.isNumber }).compactMap { Int($0) }
            XCTAssertEqual(numbers.count, 5, String(run))
            for x in numbers[0]..<(numbers[0] + numbers[2]) { dark.insert([x, numbers[1]]) }
        }
        let q = QRCodeSVG.quietZone
        for cell in dark {
            XCTAssertTrue((q..<(q + modules)).contains(cell[0]) && (q..<(q + modules)).contains(cell[1]), "module in the quiet zone: \(cell)")
        }
        // Finder pattern: a 7×7 dark ring with a 3×3 dark center, in three corners.
        for (cx, cy) in [(q, q), (q + modules - 7, q), (q, q + modules - 7)] {
            for i in 0..<7 {
                XCTAssertTrue(dark.contains([cx + i, cy]) && dark.contains([cx + i, cy + 6]))
                XCTAssertTrue(dark.contains([cx, cy + i]) && dark.contains([cx + 6, cy + i]))
            }
            XCTAssertFalse(dark.contains([cx + 1, cy + 1]))
            XCTAssertTrue(dark.contains([cx + 3, cy + 3]))
        }
    }

    func testTooLongTextIsRefused() {
        XCTAssertNil(QRCodeSVG.render(String(repeating: "x", count: 5000)))
    }
}

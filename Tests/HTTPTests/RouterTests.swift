@testable import HTTP
import XCTest

final class RouterTests: XCTestCase {
    private func route(_ router: Router, _ method: String, _ target: String) -> String {
        guard let request = try? HTTPRequest(method: method, target: target) else { return "bad target" }
        switch router.match(method: method, rawPath: request.rawPath) {
        case .found(_, let parameters):
            let keys = parameters.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ",")
            return "found[\(keys)]"
        case .methodNotAllowed(let allowed):
            return "405 " + allowed.joined(separator: ", ")
        case .notFound:
            return "404"
        }
    }

    func testPatternsParametersAndColonSegments() {
        let router = Router()
        router.add("GET", "/v1/classes/{id}") { _, _, _ in }
        router.add("POST", "/v1/classes/{id}/attendance:bulk") { _, _, _ in }
        router.add("PATCH", "/v1/classes/{id}/attendance/{student_id}") { _, _, _ in }
        router.add("GET", "/v1/classes/{id}/attendance") { _, _, _ in }
        router.add("POST", "/v1/classes") { _, _, _ in }

        XCTAssertEqual(route(router, "GET", "/v1/classes/c1"), "found[id=c1]")
        XCTAssertEqual(route(router, "POST", "/v1/classes/c1/attendance:bulk"), "found[id=c1]")
        XCTAssertEqual(route(router, "POST", "/v1/classes/c1/attendance%3Abulk"), "found[id=c1]")
        XCTAssertEqual(route(router, "POST", "/v1/classes/c1/attendance"), "405 GET, HEAD")
        XCTAssertEqual(route(router, "PATCH", "/v1/classes/c%2F1/attendance/s%201?x=1"), "found[id=c/1,student_id=s 1]")
        XCTAssertEqual(route(router, "HEAD", "/v1/classes/c1"), "found[id=c1]")
        XCTAssertEqual(route(router, "DELETE", "/v1/classes/c1"), "405 GET, HEAD")
        XCTAssertEqual(route(router, "GET", "/v1/classes"), "405 POST")
        XCTAssertEqual(route(router, "GET", "/v1/classes/"), "404", "an empty parameter does not match")
        XCTAssertEqual(route(router, "GET", "/v1/classes/c1/"), "404")
        XCTAssertEqual(route(router, "GET", "/v1/classes/c1/attendance:bulkx"), "404")
        XCTAssertEqual(route(router, "GET", "/nothing"), "404")
    }

    func testLiteralBeatsParameterWhateverTheOrder() {
        let router = Router()
        router.add("GET", "/v1/classes/{id}") { _, _, _ in }
        router.add("GET", "/v1/classes/new") { _, _, _ in }
        router.add("GET", "/v1/{kind}/x") { _, _, _ in }
        XCTAssertEqual(route(router, "GET", "/v1/classes/new"), "found[]")
        XCTAssertEqual(route(router, "GET", "/v1/classes/x"), "found[id=x]", "the leftmost literal decides")
        XCTAssertEqual(route(router, "GET", "/v1/rooms/x"), "found[kind=rooms]")
    }
}

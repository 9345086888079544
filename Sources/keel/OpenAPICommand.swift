import ArgumentParser
import Foundation
import KeelServer

/// `keel openapi`: prints the API document, the same bytes `GET /openapi.json` serves.
struct OpenAPICommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "openapi",
        abstract: "Print the OpenAPI 3.1 document of Keel's HTTP API (as served at /openapi.json).",
        discussion: "docs/openapi.json is this output: regenerate it with `swift run keel openapi > docs/openapi.json`.")

    func run() async throws {
        FileHandle.standardOutput.write(Data(try await KeelApplication.openAPIDocument()))
    }
}

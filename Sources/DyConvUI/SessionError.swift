/// A problem opening the visualizer's inputs (checkpoint, data, options, terminal): one line for stderr.
public struct SessionError: Error, CustomStringConvertible, Equatable {
    public let description: String
    public init(_ message: String) { description = message }
}

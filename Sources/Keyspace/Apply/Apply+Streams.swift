import RDB
extension ApplyContext { static func registerStreams(_ h: inout [String: Handler]) {} }

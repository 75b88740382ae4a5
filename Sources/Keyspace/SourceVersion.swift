/// The server version a dataset came from: the `redis-ver` or `valkey-ver` AUX field of the RDB it was
/// loaded from (a master's full sync, or our snapshot of it, which writes the field back), with that file's
/// RDB version. A replica applies what its master propagates with the master's own code, and a few rules
/// differ between releases of the same RDB version; this names the ones the applier follows.
public struct SourceVersion: Sendable, Equatable {
    /// "redis-ver" or "valkey-ver" (Valkey 7.2 and 8 write `valkey-ver` into files with the REDIS magic).
    public var field: String
    public var value: String
    public var rdbVersion: Int

    public init(field: String, value: String, rdbVersion: Int) {
        self.field = field
        self.value = value
        self.rdbVersion = rdbVersion
    }

    /// `ZRANGESTORE … BYSCORE` or `BYLEX` builds its destination as a skiplist, whatever its size: those
    /// ranges start the result with an unknown length (-1), which `zrangeResultBeginStore` passed to
    /// `zsetTypeCreate(size_t size_hint, …)` as SIZE_MAX from Redis 7.2-rc3 (7.1.242) through 7.2.4, and in
    /// Valkey 7.2.4–7.2.5, until redis#13148 (Redis 7.2.5, 7.4; Valkey 7.2.6, 8). Nothing converts it
    /// back, so a -0 score added to it later stays -0 where a listpack stores the integer 0.
    public var zrangestoreBuildsSkiplist: Bool {
        switch field {
        case "redis-ver": return ["7.1.242", "7.2.0", "7.2.1", "7.2.2", "7.2.3", "7.2.4"].contains(value)
        case "valkey-ver": return ["7.2.4", "7.2.5"].contains(value)
        default: return false
        }
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The field names of one Redis 8.10 hash template, packed: `bytes` holds the names back to back and `ends[i]`
/// is where name `i` ends. Names are distinct and in strict template order (`hashTemplateValidateFields` with
/// `sdscmplen`: shorter names first, then memcmp among names of one length), which the reader checks as it
/// reads them.
struct RDBHashTemplate: Sendable {
    var bytes: [UInt8] = []
    var ends: [Int] = []

    var count: Int { ends.count }

    /// Appends the next name if it sorts strictly after the last one; false otherwise.
    mutating func append(_ name: UnsafeRawBufferPointer) -> Bool {
        if let lastEnd = ends.last {
            let start = ends.count > 1 ? ends[ends.count - 2] : 0
            let ordered = bytes.withUnsafeBytes { all in
                Self.less(UnsafeRawBufferPointer(rebasing: all[start..<lastEnd]), name)
            }
            if !ordered { return false }
        }
        bytes.append(contentsOf: name)
        ends.append(bytes.count)
        return true
    }

    /// `sdscmplen(a, b) < 0` (Redis 8.10 `sds.c`): by length, then by memcmp.
    static func less(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer) -> Bool {
        if a.count != b.count { return a.count < b.count }
        return a.count > 0 && memcmp(a.baseAddress!, b.baseAddress!, a.count) < 0
    }

    /// Appends name `i` to the arena.
    @inline(__always)
    func lend(_ i: Int, into a: RDBValueArena) {
        let start = i == 0 ? 0 : ends[i - 1]
        bytes.withUnsafeBytes { a.append(UnsafeRawBufferPointer(rebasing: $0[start..<ends[i]])) }
    }
}

/// Redis 8.10 hash templates (RDB 15; `rdb.c` `rdbLoadHashTemplate`, `rdbLoadTemplateFields` and the
/// HASH_TMPL_* branches of `rdbLoadObject`). With `hash-min-template-entries` above 0 the server stores hashes
/// that share a set of field names as one template plus values. An RDB file saves each template once, as an
/// `RDB_OPCODE_HASH_TEMPLATE` record (`[id][field count][field]...`, after the functions, before the first
/// database), and each such hash as a reference: HASH_TMPL_LP_REF (a listpack: the template id as an integer,
/// then one value per field) or HASH_TMPL_ARRAY_REF (`[id][value]...`). DUMP payloads carry the names
/// instead (HASH_TMPL_LP, HASH_TMPL_ARRAY), and a reference is refused there, as Redis refuses it.
///
/// A template hash is an ordinary hash to everything after the reader: its fields come out in the template's
/// order, paired with their values, and a value never lacks a field (Redis checks the counts match).
extension RDBReader {
    /// An `RDB_OPCODE_HASH_TEMPLATE` record after its opcode: refuses a zero-field template, a repeated id,
    /// and names out of strict order, as Redis does.
    func readHashTemplateRecord(_ opStart: Int64) throws {
        let id = try readLength()
        let countAt = bytesConsumed
        let count = try readCount("hash template field count")
        guard count > 0 else {
            throw error(.corrupt, "hash template id \(id) has zero fields", at: countAt)
        }
        guard hashTemplates[id] == nil else {
            throw error(.corrupt, "hash template id \(id) appears twice", at: opStart)
        }
        hashTemplates[id] = try readTemplateNames(count, "hash template id \(id)")
    }

    /// `count` field names as RDB strings (a HASH_TEMPLATE record, or FIELDS_RAW), in strict order.
    func readTemplateNames(_ count: Int, _ what: @autoclosure () -> String) throws -> RDBHashTemplate {
        var t = RDBHashTemplate()
        t.ends.reserveCapacity(min(count, Self.reserveCap))
        for i in 0..<count {
            let at = bytesConsumed
            let ordered = try withString { name, _ in t.append(name) }
            guard ordered else {
                throw error(.corrupt, "\(what()): field \(i) does not sort after the one before it (template fields must be distinct, shorter first, then in byte order)", at: at)
            }
        }
        return t
    }

    /// HASH_TMPL_LP_REF (30) and HASH_TMPL_LP (29): an optional self-contained field list, then the values
    /// listpack, whose first entry is an integer template id.
    func readTemplateListpackHash(_ a: RDBValueArena, type: UInt8, typeOffset: Int64, selfContained: Bool) throws {
        var template = selfContained ? try readTemplateFields() : nil
        if !selfContained { try refuseReferenceInDumpPayload(type, typeOffset) }
        let keep = a.keepsBytes
        try withString { blob, base in
            var index = 0
            let n = try walkListpack(blob, base: base) { el in
                defer { index += 1 }
                if index == 0 {
                    guard el.isInt else {
                        throw error(.listpack, "template listpack's first entry is not an integer template id", at: base)
                    }
                    if template == nil { template = try referencedTemplate(el.int, at: base) }
                    return
                }
                guard let t = template, index <= t.count else { return }
                if keep {
                    t.lend(index - 1, into: a)
                    a.append(el)
                }
            }
            guard n > 0 else {
                throw error(.listpack, "template listpack is empty (no template id)", at: base)
            }
            let fields = template?.count ?? 0
            guard n == fields + 1 else {
                throw error(.listpack, "template listpack holds \(n - 1) value(s) for \(fields) template field(s)", at: base)
            }
            valueCount = fields
        }
    }

    /// HASH_TMPL_ARRAY_REF (32) and HASH_TMPL_ARRAY (31): the template (a length naming a HASH_TEMPLATE record,
    /// or the self-contained field list), then one value string per field.
    func readTemplateArrayHash(_ a: RDBValueArena, type: UInt8, typeOffset: Int64, selfContained: Bool) throws {
        let template: RDBHashTemplate
        if selfContained {
            template = try readTemplateFields()
        } else {
            try refuseReferenceInDumpPayload(type, typeOffset)
            let at = bytesConsumed
            let id = try readLength()
            guard let t = hashTemplates[id] else {
                throw error(.corrupt, "hash template id \(id) was never defined (no HASH_TEMPLATE record before this key)", at: at)
            }
            template = t
        }
        valueCount = template.count
        let keep = a.keepsBytes
        for i in 0..<template.count {
            if keep { template.lend(i, into: a) }
            try lendString(a)
        }
    }

    /// The field names of a self-contained template value (`rdbLoadTemplateFields`): a format length, then
    /// FIELDS_LP (one listpack of names) or FIELDS_RAW (a count, then the names).
    func readTemplateFields() throws -> RDBHashTemplate {
        let at = bytesConsumed
        let format = try readLength()
        switch RDBHashTemplateFields(rawValue: format) {
        case .listpack?:
            return try withString { blob, base in
                var t = RDBHashTemplate()
                var i = 0
                var ordered = true
                _ = try walkListpack(blob, base: base) { el in
                    if el.isInt {
                        let text = readerDecimalBytes(el.int)
                        ordered = text.withUnsafeBytes { t.append($0) }
                    } else {
                        ordered = t.append(UnsafeRawBufferPointer(start: el.ptr, count: el.len))
                    }
                    guard ordered else {
                        throw error(.listpack, "template field \(i) does not sort after the one before it (template fields must be distinct, shorter first, then in byte order)", at: base)
                    }
                    i += 1
                }
                guard t.count > 0 else { throw error(.listpack, "template field listpack is empty", at: base) }
                return t
            }
        case .raw?:
            let count = try readCount("template field count")
            guard count > 0 else { throw error(.corrupt, "template with zero fields", at: at) }
            return try readTemplateNames(count, "template field list")
        case nil:
            throw error(.corrupt, "unknown template fields format \(format) (expected 0: listpack, 1: raw)", at: at)
        }
    }

    func referencedTemplate(_ id: Int64, at offset: Int64) throws -> RDBHashTemplate {
        guard id >= 0 else { throw error(.listpack, "hash template id \(id) is negative", at: offset) }
        guard let t = hashTemplates[UInt64(id)] else {
            throw error(.listpack, "hash template id \(id) was never defined (no HASH_TEMPLATE record before this key)", at: offset)
        }
        return t
    }

    func refuseReferenceInDumpPayload(_ type: UInt8, _ at: Int64) throws {
        if isDumpPayload {
            throw error(.unknownType, "hash type \(type) (a template reference) is not valid in a DUMP payload", at: at)
        }
    }
}

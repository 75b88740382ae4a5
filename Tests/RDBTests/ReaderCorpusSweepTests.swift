import Testing
@testable import RDB

@Suite struct ReaderCorpusSweepTests {
    @Test(.enabled(if: ReaderTestSupport.corpusPresent, ReaderTestSupport.corpusMissing))
    func everyCorpusFileReadsOrFailsClearly() throws {
        let files = ReaderTestSupport.corpusFiles()
        #expect(files.count >= 119, "corpus files listed: \(files.count)")
        for f in files {
            guard let bytes = ReaderTestSupport.load(f.fullPath) else {
                Issue.record("cannot read \(f.path)")
                continue
            }
            let expected = ReaderTestSupport.expectedFailure(f)
            do {
                let recs = try ReaderTestSupport.readAll(bytes, name: f.path)
                if let expected {
                    Issue.record("\(f.path): expected a \(expected) error, read \(recs.count) records")
                }
                guard case .eof? = recs.last else {
                    Issue.record("\(f.path): did not end with EOF")
                    continue
                }
            } catch let e as RDBError {
                if expected == nil || (expected != .corrupt && e.code != expected) {
                    Issue.record("\(f.path): \(e)")
                }
                #expect(e.file == f.path)
                #expect(e.offset >= 0 && e.offset <= Int64(bytes.count))
            }
        }
    }
}

extension ReaderCorpusSweepTests {
    @Test(.enabled(if: ReaderTestSupport.corpusPresent, ReaderTestSupport.corpusMissing))
    func preReleaseFunctionsReadWhenAllowed() throws {
        let files = ReaderTestSupport.corpusFiles().filter(ReaderTestSupport.usesPreReleaseFunctions)
        #expect(files.count == 4)
        for f in files {
            let bytes = try #require(ReaderTestSupport.load(f.fullPath), "cannot read \(f.path)")
            var options = RDBReaderOptions()
            options.allowPreReleaseFunctions = true
            let recs = try ReaderTestSupport.readAll(bytes, options: options, name: f.path)
            guard case .eof? = recs.last else { Issue.record("\(f.path) did not reach EOF"); continue }
            let functions = recs.filter { if case .function = $0 { return true } else { return false } }
            #expect(functions.count >= 1, "\(f.path)")
        }
    }
}

extension ReaderCorpusSweepTests {
    static func collectionCount(_ v: RDBValue) -> Int? {
        switch v {
        case .list(let a): return a.count
        case .set(let a): return a.count
        case .sortedSet(let a): return a.count
        case .hash(let a): return a.count
        case .stream(let s): return s.entries.count
        case .array(let a): return a.elements.count
        case .string, .module: return nil
        }
    }

    /// `decodeValues = false` validates the same files the same way and reports the same keys, metadata and
    /// element counts; in decode mode `elementCount` equals the decoded collection's size.
    @Test(.enabled(if: ReaderTestSupport.corpusPresent, ReaderTestSupport.corpusMissing))
    func placeholderModeAgreesWithDecodeMode() throws {
        let files = ReaderTestSupport.corpusFiles()
        #expect(files.count >= 119, "corpus files listed: \(files.count)")
        var full = RDBReaderOptions()
        full.allowPreReleaseFunctions = true
        var light = full
        light.decodeValues = false
        for f in files {
            let bytes = try #require(ReaderTestSupport.load(f.fullPath), "cannot read \(f.path)")
            let a = Result { try ReaderTestSupport.readAll(bytes, options: full) }
            let b = Result { try ReaderTestSupport.readAll(bytes, options: light) }
            switch (a, b) {
            case (.success(let ra), .success(let rb)):
                let ea = entries(ra), eb = entries(rb)
                #expect(ea.count == eb.count, "\(f.path)")
                for (x, y) in zip(ea, eb) {
                    #expect(x.key == y.key && x.db == y.db && x.expireAtMs == y.expireAtMs && x.rdbType == y.rdbType
                            && x.startOffset == y.startOffset && x.serializedSize == y.serializedSize
                            && x.elementCount == y.elementCount, "\(f.path) key \(RDBError.quote(x.key))")
                    #expect(x.elementCount == Self.collectionCount(x.value), "\(f.path) key \(RDBError.quote(x.key))")
                }
            case (.failure(let ea), .failure(let eb)):
                #expect((ea as? RDBError)?.code == (eb as? RDBError)?.code, "\(f.path)")
            default:
                Issue.record("\(f.path): modes disagree")
            }
        }
    }
}

extension ReaderCorpusSweepTests {
    /// librdb's stream_v13.rdb (RDB 13, STREAM_LISTPACKS_4): key names give the shape
    /// (`cgN` groups, `pelN` at most N PEL entries per group, `prodN` producers, `entN` IDMP entries per producer).
    @Test(.enabled(if: ReaderTestSupport.corpusPresent, ReaderTestSupport.corpusMissing))
    func streamV13IDMPShapesMatchKeyNames() throws {
        let root = try #require(ReaderTestSupport.corpusRoot)
        let bytes = try #require(ReaderTestSupport.load(root + "/librdb/dumps/stream_v13.rdb"))
        let es = entries(try ReaderTestSupport.readAll(bytes))
        #expect(es.count == 49)
        var checked = 0
        for e in es {
            guard case .stream(let s) = e.value, let idmp = s.idmp else { Issue.record("no IDMP"); continue }
            #expect(e.rdbType == 26)
            let name = String(decoding: e.key, as: UTF8.self)
            func num(_ tag: String) -> Int? {
                guard let r = name.range(of: "_" + tag) else { return nil }
                return Int(name[r.upperBound...].prefix { $0.isNumber })
            }
            guard let cg = num("cg"), let prod = num("prod"), let ent = num("ent") else { continue }
            #expect(s.groups.count == cg, "\(name)")
            if let pel = num("pel") { #expect(s.groups.allSatisfy { $0.pending.count <= pel }, "\(name)") }
            #expect(idmp.producers.count == (ent == 0 ? 0 : prod), "\(name)")
            #expect(idmp.producers.allSatisfy { $0.entries.count == ent }, "\(name)")
            #expect(idmp.iidsAdded == UInt64(idmp.producers.reduce(0) { $0 + $1.entries.count }), "\(name)")
            checked += 1
        }
        #expect(checked > 10)
    }
}

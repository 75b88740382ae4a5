import Testing
@testable import RDB

@Suite struct ReaderCorpusSweepTests {
    @Test func everyCorpusFileReadsOrFailsClearly() throws {
        let files = ReaderTestSupport.corpusFiles()
        if files.isEmpty {
            print("SKIP: ../shared/rdb-corpus not found; corpus sweep not run")
            return
        }
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
    @Test func preReleaseFunctionsReadWhenAllowed() throws {
        let files = ReaderTestSupport.corpusFiles().filter(ReaderTestSupport.usesPreReleaseFunctions)
        if files.isEmpty { print("SKIP: corpus not found"); return }
        for f in files {
            guard let bytes = ReaderTestSupport.load(f.fullPath) else { continue }
            var options = RDBReaderOptions()
            options.allowPreReleaseFunctions = true
            let recs = try ReaderTestSupport.readAll(bytes, options: options, name: f.path)
            guard case .eof? = recs.last else { Issue.record("\(f.path) did not reach EOF"); continue }
            let functions = recs.filter { if case .function = $0 { return true } else { return false } }
            #expect(functions.count >= 1, "\(f.path)")
        }
    }
}

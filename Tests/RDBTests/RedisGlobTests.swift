import RDB
import RDBTools
import Testing

/// `RedisGlob` (Redis `util.c` `stringmatchlen`), used by `KeyFilter` for `rdb convert` and `rdb sqlite`.
@Suite struct RedisGlobTests {
    @Test(arguments: [
        ("*", "", true), ("*", "anything", true), ("**x", "x", true), ("**x", "abcx", true), ("a*", "b", false), ("?", "", false),
        ("user:*", "user:1", true), ("user:*", "user:42", true), ("user:*", "use", false), ("user:*", "users:42", false),
        ("h?llo", "hello", true), ("h?llo", "hallo", true), ("h?llo", "hllo", false),
        ("h[ae]llo", "hallo", true), ("h[ae]llo", "hillo", false), ("h[^e]llo", "hallo", true), ("h[^e]llo", "hello", false),
        ("h[a-b]llo", "hbllo", true), ("h[a-b]llo", "hcllo", false), ("h[b-a]llo", "hallo", true),
        ("a\\*b", "a*b", true), ("a\\*b", "axb", false), ("[\\]]", "]", true),
        ("*a*b*c", "xxaxxbxxc", true), ("*a*b*c", "xxaxxbxx", false),
        ("*a*b*c*", "xxaxxbxxcxx", true), ("*a*b*c*", "xxaxxcxxbxx", false),
        // Checked against Redis 7.0 KEYS: `[a-]` is the range a...] (the class then runs to the end), `[a-` is a or -.
        ("[a-]", "a", true), ("[a-]", "]", true), ("[a-]", "_", true), ("[a-]", "-", false), ("[a-]", "b", false),
        ("[^a-]", "b", true), ("[^a-]", "-", true), ("[^a-]", "a", false), ("[^a-]", "]", false),
        ("[a-", "a", true), ("[a-", "-", true), ("[a-", "b", false),
    ])
    func matches(pattern: String, string: String, expected: Bool) {
        #expect(RedisGlob.matches(pattern: Array(pattern.utf8), Array(string.utf8)) == expected)
    }
}

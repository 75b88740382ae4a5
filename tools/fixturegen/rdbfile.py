"""File-level facts about an RDB file, for the expected JSON of tools/make-fixtures.

This is deliberately NOT an RDB reader: it reads the 9-byte header, the trailing checksum, and
the AUX (0xFA) records that open the file (Redis 6.2/7.0 write every AUX field before the first
FUNCTION/SELECTDB record), stopping at the first other opcode. It is independent of the Swift
reader it is used to test.
"""
import struct

OP_AUX = 0xFA
OP_EOF = 0xFF


def _crc64_table():
    poly = 0x95AC9329AC4BC9B5  # 0xad93d23594c935a9, reflected
    table = []
    for i in range(256):
        crc = i
        for _ in range(8):
            crc = (crc >> 1) ^ poly if crc & 1 else crc >> 1
        table.append(crc)
    return table


_TABLE = _crc64_table()


def crc64_jones(data, crc=0):
    """CRC-64/Jones as Redis computes it (reflected, init 0, no final xor)."""
    t = _TABLE
    for b in data:
        crc = t[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return crc


assert crc64_jones(b"123456789") == 0xE9C6D914C4B8D9CA


def lzf_decompress(src, out_len):
    out = bytearray()
    i = 0
    while i < len(src):
        ctrl = src[i]
        i += 1
        if ctrl < 32:
            n = ctrl + 1
            out += src[i:i + n]
            i += n
        else:
            n = ctrl >> 5
            if n == 7:
                n += src[i]
                i += 1
            ref = len(out) - ((ctrl & 0x1F) << 8) - src[i] - 1
            i += 1
            if ref < 0:
                raise ValueError("LZF back-reference before start")
            for _ in range(n + 2):
                out.append(out[ref])
                ref += 1
    if len(out) != out_len:
        raise ValueError(f"LZF length {len(out)} != {out_len}")
    return bytes(out)


class _Cursor:
    def __init__(self, data, pos):
        self.data = data
        self.pos = pos

    def byte(self):
        if self.pos >= len(self.data):
            raise ValueError("truncated")
        b = self.data[self.pos]
        self.pos += 1
        return b

    def take(self, n):
        if self.pos + n > len(self.data):
            raise ValueError("truncated")
        out = self.data[self.pos:self.pos + n]
        self.pos += n
        return out

    def length(self):
        """Returns (value, is_special_encoding)."""
        b = self.byte()
        kind = b >> 6
        if kind == 0:
            return b & 0x3F, False
        if kind == 1:
            return ((b & 0x3F) << 8) | self.byte(), False
        if kind == 3:
            return b & 0x3F, True
        if b == 0x80:
            return struct.unpack(">I", self.take(4))[0], False
        if b == 0x81:
            return struct.unpack(">Q", self.take(8))[0], False
        raise ValueError(f"bad length byte {b:#x}")

    def string(self):
        n, special = self.length()
        if not special:
            return self.take(n)
        if n == 0:
            return str(struct.unpack("<b", self.take(1))[0]).encode()
        if n == 1:
            return str(struct.unpack("<h", self.take(2))[0]).encode()
        if n == 2:
            return str(struct.unpack("<i", self.take(4))[0]).encode()
        if n == 3:
            clen, _ = self.length()
            ulen, _ = self.length()
            return lzf_decompress(self.take(clen), ulen)
        raise ValueError(f"bad string encoding {n}")


def describe(path):
    """{size, rdb_version, magic, checksum, checksum_ok, aux} of an RDB file."""
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 18 or data[:5] != b"REDIS":
        raise ValueError(f"{path}: not an RDB file")
    if data[-9] != OP_EOF:
        raise ValueError(f"{path}: no EOF opcode 9 bytes before the end")
    stored = struct.unpack("<Q", data[-8:])[0]
    computed = crc64_jones(data[:-8])
    aux = []
    cur = _Cursor(data, 9)
    while cur.data[cur.pos] == OP_AUX:
        cur.pos += 1
        k = cur.string()
        v = cur.string()
        aux.append([k, v])
    return {
        "size": len(data),
        "rdb_version": int(data[5:9]),
        "magic": data[:9].decode(),
        "checksum": f"{stored:016x}",
        "checksum_ok": stored == 0 or stored == computed,
        "aux": aux,
    }

package files

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"unicode/utf8"
)

// MarshalJSON encodes v as the project writes every JSON document (Zarr
// metadata, the run marker, the owner lock, manifests): indented by four
// spaces, map keys sorted (so deterministic), no HTML escaping (a dtype
// reads "<f4", not "\u003cf4"), and pure ASCII: every non-ASCII character
// is written as a \uXXXX escape (a UTF-16 surrogate pair above U+FFFF), as
// zarr-python writes its own metadata. zarr-python 2.x before its fix for
// non-ASCII metadata decodes .zattrs as ASCII, so a "→" or an id like
// "KC-γ-1" written raw crashes it; escaped, every JSON reader decodes the
// same string. The result ends with a newline.
func MarshalJSON(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "    ")
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return asciiJSON(buf.Bytes()), nil
}

// asciiJSON rewrites the non-ASCII characters of an encoded JSON document
// as \u escapes. encoding/json writes valid UTF-8 (invalid bytes become
// U+FFFD), and non-ASCII bytes occur only inside strings, where an escape
// means the same character.
func asciiJSON(b []byte) []byte {
	i := bytes.IndexFunc(b, func(r rune) bool { return r >= utf8.RuneSelf })
	if i < 0 {
		return b
	}
	out := make([]byte, 0, len(b)+32)
	out = append(out, b[:i]...)
	for _, r := range string(b[i:]) {
		switch {
		case r < utf8.RuneSelf:
			out = append(out, byte(r))
		case r <= 0xffff:
			out = appendEscape(out, r)
		default: // a surrogate pair, as JSON (RFC 8259, 7) spells it
			r -= 0x10000
			out = appendEscape(appendEscape(out, 0xd800+(r>>10)), 0xdc00+(r&0x3ff))
		}
	}
	return out
}

func appendEscape(out []byte, r rune) []byte {
	s := strconv.FormatInt(int64(r), 16)
	out = append(out, `\u`...)
	for range 4 - len(s) {
		out = append(out, '0')
	}
	return append(out, s...)
}

// WriteJSON writes v to p as MarshalJSON encodes it, atomically
// (WriteFile).
func WriteJSON(ctx context.Context, p string, v any) error {
	b, err := MarshalJSON(v)
	if err != nil {
		return fmt.Errorf("%s: encode JSON: %w", p, err)
	}
	return WriteFile(ctx, p, b)
}

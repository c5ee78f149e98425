package oauth

import (
	"encoding/json"
	"errors"
	"strings"
)

// errNotObject is returned by eachMember for a body that is valid JSON but not an object.
var errNotObject = errors.New("not a JSON object")

// eachMember calls fn with the name and raw value of each member of the JSON object in data,
// in order, without allocating (a name without escapes is passed as it stands in data; an
// escaped one is decoded). fn must not keep name or value. data must already be known to be valid JSON (json.Valid). It returns
// errNotObject when data is not an object, or the first error fn returns.
//
// It exists so that a token response is read in one pass with exact member names (RFC 6749
// section 5.1 names them exactly; encoding/json would also match "Access_Token") and so that
// a member given twice can be refused instead of guessed at.
func eachMember(data []byte, fn func(name, value []byte) error) error {
	i := skipSpace(data, 0)
	if i >= len(data) || data[i] != '{' {
		return errNotObject
	}
	i = skipSpace(data, i+1)
	for i < len(data) && data[i] != '}' {
		end := skipString(data, i)
		name := bytesToName(data[i:end])
		i = skipSpace(data, end)
		i = skipSpace(data, i+1) // the ':'
		vend := skipValue(data, i)
		if err := fn(name, data[i:vend]); err != nil {
			return err
		}
		i = skipSpace(data, vend)
		if i < len(data) && data[i] == ',' {
			i = skipSpace(data, i+1)
		}
	}
	return nil
}

// bytesToName returns the name in a raw JSON string: the bytes between the quotes, or, when
// the name has escapes ("access\u005ftoken" is "access_token"), its decoded form.
func bytesToName(raw []byte) []byte {
	inner := raw[1 : len(raw)-1]
	for _, c := range inner {
		if c == '\\' {
			var s string
			_ = json.Unmarshal(raw, &s)
			return []byte(s)
		}
	}
	return inner
}

func skipSpace(data []byte, i int) int {
	for i < len(data) && (data[i] == ' ' || data[i] == '\t' || data[i] == '\n' || data[i] == '\r') {
		i++
	}
	return i
}

// skipString returns the index just past the JSON string starting at data[i] == '"'.
func skipString(data []byte, i int) int {
	for i++; i < len(data); i++ {
		switch data[i] {
		case '\\':
			i++
		case '"':
			return i + 1
		}
	}
	return len(data)
}

// skipValue returns the index just past the JSON value starting at data[i].
func skipValue(data []byte, i int) int {
	if i >= len(data) {
		return i
	}
	switch data[i] {
	case '"':
		return skipString(data, i)
	case '{', '[':
		depth := 0
		for ; i < len(data); i++ {
			switch data[i] {
			case '"':
				i = skipString(data, i) - 1
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return i + 1
				}
			}
		}
		return i
	default: // number, true, false, null
		for i < len(data) && !strings.ContainsRune(",}] \t\r\n", rune(data[i])) {
			i++
		}
		return i
	}
}

// stringValue returns the value of a raw JSON string member, and false for any other JSON
// type (so a number where a string belongs is noticed, not coerced).
func stringValue(raw []byte) (string, bool) {
	if len(raw) < 2 || raw[0] != '"' {
		return "", false
	}
	inner := raw[1 : len(raw)-1]
	for _, c := range inner {
		if c == '\\' {
			var s string
			if json.Unmarshal(raw, &s) != nil {
				return "", false
			}
			return s, true
		}
	}
	return string(inner), true
}

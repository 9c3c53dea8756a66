package identities

import (
	"crypto/sha512"
	"crypto/subtle"
	"errors"
	"hash"
	"strconv"
	"strings"
)

// This file implements SHA-512-based crypt ("$6$", sha512-crypt) as
// published by Ulrich Drepper in "Unix crypt using SHA-256 and SHA-512"
// (the algorithm glibc's crypt(3) uses), written from that description.

const (
	cryptPrefix        = "$6$"
	cryptRoundsPrefix  = "rounds="
	cryptDefaultRounds = 5000
	cryptMinRounds     = 1000
	cryptMaxRounds     = 999999999
	cryptMaxSalt       = 16
)

// errBadHash is returned for a string that is not a sha512-crypt hash.
var errBadHash = errors.New("not a sha512-crypt hash")

// cryptSetting is the parsed "$6$[rounds=N$]salt" part of a hash.
type cryptSetting struct {
	salt   string
	rounds int
	// explicit is set when the setting named its rounds; the output then
	// names them too.
	explicit bool
}

// parseSetting parses a setting or a whole hash; anything after the salt is
// ignored.
func parseSetting(s string) (cryptSetting, error) {
	rest, ok := strings.CutPrefix(s, cryptPrefix)
	if !ok {
		return cryptSetting{}, errBadHash
	}
	cs := cryptSetting{rounds: cryptDefaultRounds}
	if r, ok := strings.CutPrefix(rest, cryptRoundsPrefix); ok {
		num, after, found := strings.Cut(r, "$")
		if !found {
			return cryptSetting{}, errBadHash
		}
		n, err := strconv.ParseUint(num, 10, 64)
		if err != nil {
			return cryptSetting{}, errBadHash
		}
		cs.rounds = int(min(max(n, cryptMinRounds), cryptMaxRounds))
		cs.explicit = true
		rest = after
	}
	salt, _, _ := strings.Cut(rest, "$")
	if len(salt) > cryptMaxSalt {
		salt = salt[:cryptMaxSalt]
	}
	cs.salt = salt
	return cs, nil
}

// sha512Crypt returns the full hash of password with the given setting.
func sha512Crypt(password []byte, cs cryptSetting) string {
	p, s := password, []byte(cs.salt)
	h := sha512.New()

	// B = H(P S P)
	h.Write(p)
	h.Write(s)
	h.Write(p)
	b := h.Sum(nil)

	// A = H(P S, len(P) bytes of B, then B or P for each bit of len(P))
	h.Reset()
	h.Write(p)
	h.Write(s)
	writeRepeated(h, b, len(p))
	for n := len(p); n > 0; n >>= 1 {
		if n&1 != 0 {
			h.Write(b)
		} else {
			h.Write(p)
		}
	}
	a := h.Sum(nil)

	// P sequence: len(P) bytes of H(P repeated len(P) times).
	h.Reset()
	for range len(p) {
		h.Write(p)
	}
	pSeq := repeatTo(h.Sum(nil), len(p))

	// S sequence: len(S) bytes of H(S repeated 16+A[0] times).
	h.Reset()
	for range 16 + int(a[0]) {
		h.Write(s)
	}
	sSeq := repeatTo(h.Sum(nil), len(s))

	c := a
	for i := range cs.rounds {
		h.Reset()
		if i&1 != 0 {
			h.Write(pSeq)
		} else {
			h.Write(c)
		}
		if i%3 != 0 {
			h.Write(sSeq)
		}
		if i%7 != 0 {
			h.Write(pSeq)
		}
		if i&1 != 0 {
			h.Write(c)
		} else {
			h.Write(pSeq)
		}
		c = h.Sum(c[:0])
	}

	var out strings.Builder
	out.WriteString(cryptPrefix)
	if cs.explicit {
		out.WriteString(cryptRoundsPrefix + strconv.Itoa(cs.rounds) + "$")
	}
	out.WriteString(cs.salt)
	out.WriteByte('$')
	// The digest's bytes are taken in groups of three, (k, k+21, k+42)
	// rotated by k mod 3, then the last byte alone.
	for k := range 21 {
		i0, i1, i2 := k, k+21, k+42
		switch k % 3 {
		case 1:
			i0, i1, i2 = i1, i2, i0
		case 2:
			i0, i1, i2 = i2, i0, i1
		}
		b64From24(&out, c[i0], c[i1], c[i2], 4)
	}
	b64From24(&out, 0, 0, c[63], 2)
	return out.String()
}

// writeRepeated writes n bytes of data, repeated as needed, to h.
func writeRepeated(h hash.Hash, data []byte, n int) {
	for ; n > len(data); n -= len(data) {
		h.Write(data)
	}
	h.Write(data[:n])
}

// repeatTo returns n bytes of data, repeated as needed.
func repeatTo(data []byte, n int) []byte {
	out := make([]byte, 0, n)
	for len(out) < n {
		out = append(out, data[:min(len(data), n-len(out))]...)
	}
	return out
}

const cryptAlphabet = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

func b64From24(out *strings.Builder, b2, b1, b0 byte, n int) {
	w := uint(b2)<<16 | uint(b1)<<8 | uint(b0)
	for range n {
		out.WriteByte(cryptAlphabet[w&0x3f])
		w >>= 6
	}
}

// verifyPassword reports whether password matches the sha512-crypt hash.
// The comparison of the computed and the stored hash takes constant time.
func verifyPassword(hashed string, password []byte) bool {
	cs, err := parseSetting(hashed)
	if err != nil {
		return false
	}
	got := sha512Crypt(password, cs)
	return subtle.ConstantTimeCompare([]byte(got), []byte(hashed)) == 1
}

// dummyHash is verified against when a basic-auth user name is unknown, so
// an unknown name costs as much time as a wrong password.
const dummyHash = "$6$dummysaltdummy$2AFuTt3OtMpmJYu0e.HbKJIF80XChG6bmSYTWXqzbWnWiF6f7bKXmHlaSEHfanMjWkECeBXsXrcEcY1K7pGfJ/"

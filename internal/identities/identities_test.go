package identities

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pebble-project/pebble/internal/statefile"
)

// Vectors from glibc's crypt(3) (and Drepper's description of the
// algorithm).
var cryptVectors = []struct{ password, setting, hash string }{
	{"Hello world!", "$6$saltstring", "$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1"},
	{"Hello world!", "$6$rounds=10000$saltstringsaltstring", "$6$rounds=10000$saltstringsaltst$OW1/O6BYHV6BcXZu8QVeXbDWra3Oeqh0sbHbbMCVNSnCM/UrjmM0Dp8vOuZeHBy/YTBmSK6H9qs/y3RnOaw5v."},
	{"we have a short salt string but not a short password", "$6$rounds=77777$short", "$6$rounds=77777$short$WuQyW2YR.hBNpjjRhpYD/ifIw05xdfeEyQoMxIXbkvr0gge1a1x3yRULJ5CCaUeOxFmtlcGZelFl5CxtgfiAc0"},
	{"the minimum number is still observed", "$6$rounds=10$roundstoolow", "$6$rounds=1000$roundstoolow$kUMsbe306n21p9R.FRkW3IGn.S9NPN0x50YhH1xhLsPuWGsUSklZt58jaTfF4ZEQpyUNGc0dqbpBYYBaHHrsX."},
	{"", "$6$abc", "$6$abc$mJP3a6FyA8uCnzRtlnNypPwjnvpi5TP9qOrInzrfDmwxUQG38PkpCPdqfTb8JQfAngapMxeim4AZ..hSdRRzD."},
	{strings.Repeat("a", 100), "$6$toolongsaltstringXYZ", "$6$toolongsaltstrin$G1Bld/m.KLwEtzwbGU4I2HE/FVbFqJPEIZYUwU8FwvxfAWo.3cU/aHhgiI.bR6pwV.ZIfmQQc6VbJHWmDpVF1/"},
}

func TestSHA512Crypt(t *testing.T) {
	for _, v := range cryptVectors {
		cs, err := parseSetting(v.setting)
		require.NoError(t, err)
		assert.Equal(t, v.hash, sha512Crypt([]byte(v.password), cs), "%q %q", v.password, v.setting)
		assert.True(t, verifyPassword(v.hash, []byte(v.password)))
		assert.False(t, verifyPassword(v.hash, []byte(v.password+"x")))
	}
	assert.False(t, verifyPassword("$5$abc$def", []byte("x")), "only sha512-crypt")
	assert.False(t, verifyPassword("plain", []byte("plain")))
	assert.False(t, verifyPassword("$6$rounds=x$abc$def", []byte("x")))
}

// TestSHA512CryptAgainstOpenSSL compares random passwords and salts with
// openssl's implementation, where openssl is installed.
func TestSHA512CryptAgainstOpenSSL(t *testing.T) {
	openssl, err := exec.LookPath("openssl")
	if err != nil {
		t.Skip("skipping: openssl not installed")
	}
	const alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789./"
	for i := 0; i < 10; i++ {
		pw := randomString(alphabet+" !#%&*", 1+i*13%90)
		salt := randomString(alphabet, 1+i%16)
		out, err := exec.Command(openssl, "passwd", "-6", "-salt", salt, pw).Output()
		require.NoError(t, err)
		cs, err := parseSetting("$6$" + salt)
		require.NoError(t, err)
		assert.Equal(t, strings.TrimSpace(string(out)), sha512Crypt([]byte(pw), cs), "password %q salt %q", pw, salt)
	}
}

func randomString(alphabet string, n int) string {
	b := make([]byte, n)
	rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}

func uid(n uint32) *uint32 { return &n }

func testCertPEM(t *testing.T) string {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), NotBefore: time.Now(), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, pub, priv)
	require.NoError(t, err)
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
}

func TestValidation(t *testing.T) {
	m, err := New(nil)
	require.NoError(t, err)
	tests := []struct {
		name string
		id   *Identity
		msg  string
	}{
		{"bob", &Identity{Local: &Local{UserID: uid(1)}}, `invalid identity for "bob": access value must be specified ("admin", "read", "metrics", or "untrusted")`},
		{"bob", &Identity{Access: "root", Local: &Local{UserID: uid(1)}}, `invalid identity for "bob": invalid access value "root", must be "admin", "read", "metrics", or "untrusted"`},
		{"bob", &Identity{Access: ReadAccess, Local: &Local{}}, `invalid identity for "bob": local identity must specify user-id`},
		{"bob", &Identity{Access: ReadAccess, Basic: &Basic{}}, `invalid identity for "bob": basic identity must specify password (hashed)`},
		{"bob", &Identity{Access: ReadAccess}, `invalid identity for "bob": identity must have at least one type ("local", "basic", or "cert")`},
		{"bob", &Identity{Access: ReadAccess, Cert: &CertInfo{PEM: "x"}}, `invalid identity for "bob": cert identity must include a PEM-encoded certificate`},
		{"1bob", &Identity{Access: ReadAccess, Local: &Local{UserID: uid(1)}}, `invalid identity for "1bob": identity name "1bob" invalid: must start with an alphabetic character and only contain alphanumeric characters, underscore, and hyphen`},
		{"bo b", &Identity{Access: ReadAccess, Local: &Local{UserID: uid(1)}}, `invalid identity for "bo b": identity name "bo b" invalid: must start with an alphabetic character and only contain alphanumeric characters, underscore, and hyphen`},
	}
	for _, tt := range tests {
		_, err := m.Apply(Add, map[string]*Identity{tt.name: tt.id})
		assert.EqualError(t, err, tt.msg)
		assert.True(t, IsInvalid(err))
	}
	_, err = m.Apply("delete", nil)
	assert.EqualError(t, err, `invalid action "delete", must be "add", "update", "replace", or "remove"`)
	_, err = m.Apply(Add, map[string]*Identity{"c-1_x": {Access: UntrustedAccess, Cert: &CertInfo{PEM: testCertPEM(t)}}})
	assert.NoError(t, err)
}

func TestApply(t *testing.T) {
	m, err := New(nil)
	require.NoError(t, err)
	hash := cryptVectors[0].hash
	events, err := m.Apply(Add, map[string]*Identity{
		"bob":   {Access: AdminAccess, Local: &Local{UserID: uid(42)}},
		"alice": {Access: MetricsAccess, Basic: &Basic{Password: hash}},
	})
	require.NoError(t, err)
	assert.Equal(t, []Event{{Created, "alice", MetricsAccess}, {Created, "bob", AdminAccess}}, events)

	_, err = m.Apply(Add, map[string]*Identity{"bob": {Access: ReadAccess, Local: &Local{UserID: uid(1)}}, "alice": nil})
	assert.EqualError(t, err, `identity value for "alice" must not be null for add operation`)
	_, err = m.Apply(Add, map[string]*Identity{"bob": {Access: ReadAccess, Local: &Local{UserID: uid(1)}}, "alice": {Access: ReadAccess, Local: &Local{UserID: uid(2)}}})
	assert.EqualError(t, err, "identities already exist: alice, bob")
	_, err = m.Apply(Update, map[string]*Identity{"carol": {Access: ReadAccess, Local: &Local{UserID: uid(1)}}, "dave": {Access: ReadAccess, Local: &Local{UserID: uid(2)}}})
	assert.EqualError(t, err, "identities do not exist: carol, dave")
	_, err = m.Apply(Update, map[string]*Identity{"bob": nil})
	assert.EqualError(t, err, `identity value for "bob" must not be null for update operation`)
	_, err = m.Apply(Remove, map[string]*Identity{"bob": {Access: ReadAccess, Local: &Local{UserID: uid(1)}}})
	assert.EqualError(t, err, `identity value for "bob" must be null for remove operation`)
	_, err = m.Apply(Remove, map[string]*Identity{"zed": nil})
	assert.EqualError(t, err, "identities do not exist: zed")
	_, err = m.Apply(Add, map[string]*Identity{"carol": {Access: ReadAccess, Local: &Local{UserID: uid(42)}}})
	assert.EqualError(t, err, "cannot have multiple identities with user ID 42 (bob, carol)")

	// Masked secrets; lookups.
	assert.Equal(t, map[string]*Identity{
		"bob":   {Access: AdminAccess, Local: &Local{UserID: uid(42)}},
		"alice": {Access: MetricsAccess, Basic: &Basic{Password: "*****"}},
	}, m.Masked())
	name, access, ok := m.ByUID(42)
	assert.Equal(t, []any{"bob", AdminAccess, true}, []any{name, access, ok})
	_, _, ok = m.ByUID(43)
	assert.False(t, ok)
	name, access, ok = m.ByBasic("alice", "Hello world!")
	assert.Equal(t, []any{"alice", MetricsAccess, true}, []any{name, access, ok})
	_, _, ok = m.ByBasic("alice", "hello world!")
	assert.False(t, ok)
	_, _, ok = m.ByBasic("bob", "Hello world!")
	assert.False(t, ok, "bob has no basic identity")
	_, _, ok = m.ByBasic("nobody", "x")
	assert.False(t, ok)

	// Replace: add, overwrite, delete; update changes the UID index.
	events, err = m.Apply(Replace, map[string]*Identity{
		"alice": nil,
		"bob":   {Access: ReadAccess, Local: &Local{UserID: uid(43)}},
		"carol": {Access: UntrustedAccess, Local: &Local{UserID: uid(42)}},
		"nope":  nil,
	})
	require.NoError(t, err)
	assert.Equal(t, []Event{{Deleted, "alice", ""}, {Updated, "bob", ReadAccess}, {Created, "carol", UntrustedAccess}}, events)
	name, access, _ = m.ByUID(42)
	assert.Equal(t, "carol", name)
	assert.Equal(t, UntrustedAccess, access)
	events, err = m.Apply(Remove, map[string]*Identity{"bob": nil, "carol": nil})
	require.NoError(t, err)
	assert.Len(t, events, 2)
	assert.Empty(t, m.Masked())
}

func TestPersistence(t *testing.T) {
	path := filepath.Join(t.TempDir(), ".pebble.state")
	st, err := statefile.Open(path)
	require.NoError(t, err)
	m, err := New(st)
	require.NoError(t, err)
	_, err = m.Apply(Add, map[string]*Identity{
		"bob":   {Access: AdminAccess, Local: &Local{UserID: uid(0)}},
		"alice": {Access: MetricsAccess, Basic: &Basic{Password: cryptVectors[0].hash}},
	})
	require.NoError(t, err)
	require.NoError(t, st.Close())

	// Where Pebble v1.32 keeps them: the "identities" entry of "data".
	var raw struct{ Data map[string]json.RawMessage }
	data, err := readFile(path)
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(data, &raw))
	assert.JSONEq(t, `{"alice":{"access":"metrics","basic":{"password":"`+cryptVectors[0].hash+`"}},"bob":{"access":"admin","local":{"user-id":0}}}`, string(raw.Data["identities"]))

	st2, err := statefile.Open(path)
	require.NoError(t, err)
	defer st2.Close()
	m2, err := New(st2)
	require.NoError(t, err)
	name, _, ok := m2.ByUID(0)
	assert.True(t, ok)
	assert.Equal(t, "bob", name)
	_, _, ok = m2.ByBasic("alice", "Hello world!")
	assert.True(t, ok)
}

func BenchmarkVerify(b *testing.B) {
	for b.Loop() {
		verifyPassword(cryptVectors[0].hash, []byte("Hello world!"))
	}
}

func readFile(path string) ([]byte, error) { return os.ReadFile(path) }

// TestEventSecurity: an identity's security event names the caller, the
// identity and its new access (none when deleted), behaviour.md §12.
func TestEventSecurity(t *testing.T) {
	event, desc := Event{Kind: Created, Name: "bob", Access: AdminAccess}.Security("alice")
	if event != "user_created:alice,bob,admin" || desc != "User alice created identity bob with access admin" {
		t.Errorf("created: %q, %q", event, desc)
	}
	event, desc = Event{Kind: Deleted, Name: "bob"}.Security("0")
	if event != "user_deleted:0,bob" || desc != "User 0 deleted identity bob" {
		t.Errorf("deleted: %q, %q", event, desc)
	}
}

package compat

import (
	"context"
	"testing"
	"time"

	"github.com/canonical/pebble/client"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestNotices drives notices with Pebble's own client: custom notices,
// filters, long-polling, the change-update notices of a service action and
// our service-update notices in a listing without a type filter.
func TestNotices(t *testing.T) {
	d := startDaemon(t, map[string]string{"001-base.yaml": twoServices}, "--hold")
	c := d.client

	id, err := c.Notify(&client.NotifyOptions{Type: client.CustomNotice, Key: "example.com/compat", Data: map[string]string{"a": "b"}, RepeatAfter: time.Hour})
	require.NoError(t, err)
	n, err := c.Notice(id)
	require.NoError(t, err)
	assert.Equal(t, client.CustomNotice, n.Type)
	assert.Equal(t, "example.com/compat", n.Key)
	assert.Equal(t, map[string]string{"a": "b"}, n.LastData)
	assert.Equal(t, time.Hour, n.RepeatAfter)
	assert.Equal(t, 7*24*time.Hour, n.ExpireAfter)
	require.NotNil(t, n.UserID)

	_, err = c.Notify(&client.NotifyOptions{Type: client.CustomNotice, Key: "bad"})
	assert.Equal(t, `invalid key "bad" (must be in "example.com/path" format)`, apiError(t, err).Message)

	after := time.Now()
	changeID, err := c.Start(&client.ServiceOptions{Names: []string{"svc1"}})
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ns, err := c.WaitNotices(ctx, 20*time.Second, &client.NoticesOptions{
		Types: []client.NoticeType{client.ChangeUpdateNotice}, Keys: []string{changeID}, After: after,
	})
	require.NoError(t, err)
	require.Len(t, ns, 1)
	assert.Nil(t, ns[0].UserID)
	assert.Equal(t, "start", ns[0].LastData["kind"])
	d.wait(changeID)

	all, err := c.Notices(&client.NoticesOptions{Users: client.NoticesUsersAll})
	require.NoError(t, err)
	assert.GreaterOrEqual(t, len(all), 2)
	// Our service-update notices (a type Pebble's client does not know)
	// decode like any other in a listing without a type filter.
	var events *client.Notice
	for _, n := range all {
		if n.Type == "service-update" && n.Key == "svc1" {
			events = n
		}
	}
	require.NotNil(t, events, "notices: %v", all)
	assert.Equal(t, "started", events.LastData["event"])
	assert.Equal(t, 2, events.Occurrences) // starting, started
	d.stop()
}

// TestIdentities drives identities with Pebble's own client.
func TestIdentities(t *testing.T) {
	d := startDaemon(t, nil, "--hold")
	c := d.client
	uid := uint32(4242)
	require.NoError(t, c.AddIdentities(map[string]*client.Identity{
		"bob":   {Access: client.AdminAccess, Local: &client.LocalIdentity{UserID: &uid}},
		"alice": {Access: "metrics", Basic: &client.BasicIdentity{Password: "$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1"}},
	}))
	ids, err := c.Identities(nil)
	require.NoError(t, err)
	assert.Equal(t, "*****", ids["alice"].Basic.Password)
	assert.Equal(t, uint32(4242), *ids["bob"].Local.UserID)
	err = c.UpdateIdentities(map[string]*client.Identity{"carol": {Access: client.ReadAccess, Local: &client.LocalIdentity{UserID: &uid}}})
	assert.Equal(t, "identities do not exist: carol", apiError(t, err).Message)
	require.NoError(t, c.RemoveIdentities(map[string]struct{}{"alice": {}}))
	ids, err = c.Identities(nil)
	require.NoError(t, err)
	assert.Len(t, ids, 1)
	d.stop()
}

package httpapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/kizuna-chat/kizuna/internal/testdb"
	"github.com/kizuna-chat/kizuna/service"
)

// The tenant-isolation property test (issue 10). A generator builds a
// random world — tenants with several domains, personal accounts,
// restricted members, external contacts, rooms, groups and boards — in
// which every piece of content carries a unique marker. Then random API
// requests, as random actors and aimed at random IDs of every tenant, run
// against it. The oracle below knows, from the world it built and rules
// R1–R14 alone (not from the handlers), who may see each marker; a
// response that shows a marker to anybody else, a write that lands where
// it may not, or a 5xx fails the test with the seed.
//
// CI runs a small size; the full run is
//
//	KIZUNA_ISOLATION_REQUESTS=100000 go test ./httpapi -run TestTenantIsolation -timeout 30m
//
// and a failing seed replays with KIZUNA_ISOLATION_SEED=<seed>.
func TestTenantIsolation(t *testing.T) {
	seed := uint64(rand.Int64())
	if s := os.Getenv("KIZUNA_ISOLATION_SEED"); s != "" {
		seed, _ = strconv.ParseUint(s, 10, 64)
	}
	requests := 3000
	if testing.Short() {
		requests = 500
	}
	if s := os.Getenv("KIZUNA_ISOLATION_REQUESTS"); s != "" {
		requests, _ = strconv.Atoi(s)
	}
	t.Logf("seed %d (replay with KIZUNA_ISOLATION_SEED=%d), %d requests", seed, seed, requests)
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	iw := buildIsolationWorld(t, rng)
	iw.explore(t, rng, requests, seed)
}

// isoActor is an account of the generated world.
type isoActor struct {
	name, id, signIn string
	tenant           int // -1 for personal accounts
	admin            bool
	restricted       bool
}

// isoWorld is the world and the oracle's knowledge of it.
type isoWorld struct {
	*world
	actors  []*isoActor
	rooms   []string            // room IDs
	members map[string][]string // room ID → actor names
	groups  []string
	boards  []string
	posts   map[string]string // post ID → board ID
	// allowed maps each marker to the actors who may see it.
	allowed map[string]map[string]bool
	markers []string
}

func (iw *isoWorld) mark(text string, who ...string) string {
	// Tildes and lower case never occur in IDs (ULIDs are upper-case
	// base32), so a marker cannot be mistaken for part of an ID.
	m := fmt.Sprintf("~mk%06d~", len(iw.markers))
	iw.markers = append(iw.markers, m)
	set := map[string]bool{}
	for _, w := range who {
		set[w] = true
	}
	iw.allowed[m] = set
	return text + " " + m
}

func (iw *isoWorld) actorByName(name string) *isoActor {
	for _, a := range iw.actors {
		if a.name == name {
			return a
		}
	}
	return nil
}

func buildIsolationWorld(t *testing.T, rng *rand.Rand) *isoWorld {
	w := newWorld(t, testdb.SQLite)
	iw := &isoWorld{world: w, members: map[string][]string{}, posts: map[string]string{}, allowed: map[string]map[string]bool{}}
	ctx := context.Background()
	const tenants = 5
	for ti := range tenants {
		domain := fmt.Sprintf("t%d.example", ti)
		if _, err := w.svc.Tenants.Create(ctx, service.NewTenant{TenantName: fmt.Sprintf("Tenant %d", ti), Domain: domain, OwnerLocal: "boss", OwnerPassword: ownerPassword}); err != nil {
			t.Fatal(err)
		}
		owner := fmt.Sprintf("t%d_owner", ti)
		w.signIn(owner, "boss@"+domain, ownerPassword)
		iw.actors = append(iw.actors, &isoActor{name: owner, id: w.ids[owner], signIn: "boss@" + domain, tenant: ti, admin: true})
		sub := fmt.Sprintf("dept.t%d.example", ti)
		w.must(owner, "POST", "/api/v1/domains", `{"name":"`+sub+`"}`, 201)
		for mi := range 3 {
			name := fmt.Sprintf("t%d_m%d", ti, mi)
			d := []string{domain, sub}[mi%2]
			w.tokens["owner"] = w.tokens[owner] // addMember adds as "owner"
			w.addMember(name, fmt.Sprintf("m%d", mi), d, "member")
			a := &isoActor{name: name, id: w.ids[name], signIn: fmt.Sprintf("m%d@%s", mi, d), tenant: ti}
			if mi == 2 {
				a.restricted = true
				w.must(owner, "PUT", "/api/v1/members/"+a.id+"/restricted", `{"restricted":true}`, 200)
			}
			iw.actors = append(iw.actors, a)
		}
		if rng.IntN(2) == 0 {
			w.must(owner, "PUT", "/api/v1/tenant/external-policy", `{"allow_personal":true,"allow_other_tenants":false,"add_contacts":"free"}`, 200)
		}
	}
	for pi := range 2 {
		name := fmt.Sprintf("p%d", pi)
		var s struct {
			Token   string
			Account struct{ ID string }
		}
		w.decode(w.must("", "POST", "/api/v1/personal-accounts", fmt.Sprintf(`{"handle":"solo%d","password":"a personal passphrase %d"}`, pi, pi), 201), &s)
		w.tokens[name], w.ids[name] = s.Token, s.Account.ID
		iw.actors = append(iw.actors, &isoActor{name: name, id: s.Account.ID, signIn: fmt.Sprintf("solo%d", pi), tenant: -1})
	}

	// Rooms inside each tenant, and direct rooms across tenants where the
	// contact and both policies allow.
	for ti := range tenants {
		var in []*isoActor
		for _, a := range iw.actors {
			if a.tenant == ti {
				in = append(in, a)
			}
		}
		creator := in[0]
		chosen := []string{creator.name}
		var ids []string
		for _, a := range in[1:] {
			if rng.IntN(2) == 0 {
				chosen = append(chosen, a.name)
				ids = append(ids, a.id)
			}
		}
		b, _ := json.Marshal(map[string]any{"name": "room", "members": ids})
		var r struct{ ID string }
		w.decode(w.must(creator.name, "POST", "/api/v1/rooms", string(b), 201), &r)
		iw.addRoom(r.ID, chosen)
	}
	for range 8 {
		a, b := iw.actors[rng.IntN(len(iw.actors))], iw.actors[rng.IntN(len(iw.actors))]
		if a == b || (a.tenant == b.tenant && a.tenant >= 0) || a.restricted || b.restricted {
			continue
		}
		var c struct{ ID string }
		if code, body := w.do(a.name, "POST", "/api/v1/contacts", `{"id":"`+b.signIn+`"}`); code == 201 || code == 200 {
			w.decode(body, &c)
			w.do(b.name, "POST", "/api/v1/contacts/"+c.ID+"/accept", "")
		}
		var r struct{ ID string }
		if code, body := w.do(a.name, "POST", "/api/v1/rooms/direct", `{"with":"`+b.signIn+`"}`); code == 201 {
			w.decode(body, &r)
			iw.addRoom(r.ID, []string{a.name, b.name})
		}
	}
	for _, room := range iw.rooms {
		for i, sender := range iw.members[room] {
			body := iw.mark("hello", iw.members[room]...)
			b, _ := json.Marshal(map[string]any{"client_msg_id": fmt.Sprint("seed-", i), "body": body})
			if code, resp := w.do(sender, "POST", "/api/v1/rooms/"+room+"/messages", string(b)); code != 201 {
				// A policy may forbid this pair: then nothing was stored.
				if code != 403 {
					t.Fatalf("seeding %s: %d %s", room, code, resp)
				}
				iw.allowed[iw.markers[len(iw.markers)-1]] = map[string]bool{}
			}
		}
	}

	// A group board (its group's members and admins) and a tenant-wide
	// board (everyone unrestricted, and admins) per tenant.
	for ti := range tenants {
		owner := fmt.Sprintf("t%d_owner", ti)
		var g struct{ ID string }
		w.decode(w.must(owner, "POST", "/api/v1/groups", `{"name":"team"}`, 201), &g)
		iw.groups = append(iw.groups, g.ID)
		groupMembers := []string{owner}
		for _, a := range iw.actors {
			if a.tenant == ti && !a.admin && rng.IntN(2) == 0 {
				w.must(owner, "POST", "/api/v1/groups/"+g.ID+"/members", `{"members":["`+a.id+`"]}`, 200)
				groupMembers = append(groupMembers, a.name)
			}
		}
		var tenantReaders []string
		for _, a := range iw.actors {
			if a.tenant == ti && (!a.restricted || a.admin) {
				tenantReaders = append(tenantReaders, a.name)
			}
		}
		for _, bd := range []struct {
			rules   string
			readers []string
		}{
			{`[{"right":"write","kind":"group","id":"` + g.ID + `"}]`, groupMembers},
			{`[{"right":"read","kind":"tenant"}]`, tenantReaders},
		} {
			var board struct{ ID string }
			w.decode(w.must(owner, "POST", "/api/v1/boards", `{"name":"board","rules":`+bd.rules+`}`, 201), &board)
			iw.boards = append(iw.boards, board.ID)
			b, _ := json.Marshal(map[string]any{"title": iw.mark("title", bd.readers...), "body": iw.mark("body", bd.readers...)})
			var p struct{ ID string }
			w.decode(w.must(owner, "POST", "/api/v1/boards/"+board.ID+"/posts", string(b), 201), &p)
			iw.posts[p.ID] = board.ID
		}
	}
	return iw
}

func (iw *isoWorld) addRoom(id string, members []string) {
	iw.rooms = append(iw.rooms, id)
	iw.members[id] = members
}

// explore sends random requests and checks every answer.
func (iw *isoWorld) explore(t *testing.T, rng *rand.Rand, n int, seed uint64) {
	pick := func(list []string) string { return list[rng.IntN(len(list))] }
	var postIDs []string
	for id := range iw.posts {
		postIDs = append(postIDs, id)
	}
	slices.Sort(postIDs)
	var memberIDs []string
	for _, a := range iw.actors {
		memberIDs = append(memberIDs, a.id)
	}
	sent := 0
	for i := range n {
		a := iw.actors[rng.IntN(len(iw.actors))]
		room := pick(iw.rooms)
		post := pick(postIDs)
		var method, path, body string
		switch rng.IntN(12) {
		case 0:
			method, path = "GET", "/api/v1/rooms/"+room
		case 1:
			method, path = "GET", "/api/v1/rooms/"+room+"/messages"
		case 2:
			method, path = "GET", "/api/v1/messages/search?q=~mk"
		case 3:
			method, path = "GET", "/api/v1/boards/"+iw.posts[post]+"/posts"
		case 4:
			method, path = "GET", "/api/v1/boards/"+iw.posts[post]+"/posts/"+post
		case 5:
			method, path = "GET", "/api/v1/boards"
		case 6:
			method, path = "GET", "/api/v1/groups/"+pick(iw.groups)+"/members"
		case 7:
			method, path = "GET", "/api/v1/members/"+pick(memberIDs)
		case 8:
			method, path = "GET", "/api/v1/rooms"
		case 9:
			method, path = "GET", "/api/v1/directory?q=m"
		case 10:
			// A write into a random room: it must land only where the
			// actor is a member and the policies allow.
			msg := iw.mark("written", iw.members[room]...)
			method, path = "POST", "/api/v1/rooms/"+room+"/messages"
			b, _ := json.Marshal(map[string]any{"client_msg_id": fmt.Sprint("x", i), "body": msg})
			body = string(b)
		case 11:
			method, path, body = "POST", "/api/v1/groups/"+pick(iw.groups)+"/members", `{"members":["`+a.id+`"]}`
		}
		code, resp := iw.do(a.name, method, path, body)
		sent++
		fail := func(format string, args ...any) {
			t.Fatalf("seed %d, request %d: %s %s as %s: "+format, append([]any{seed, i, method, path, a.name}, args...)...)
		}
		if code >= 500 {
			fail("%d %s", code, resp)
		}
		for _, m := range markersIn(resp) {
			if who, known := iw.allowed[m]; !known || !who[a.name] {
				fail("shows %s, which only %v may see: %s", m, keys(iw.allowed[m]), resp)
			}
		}
		if code/100 == 2 && strings.HasSuffix(path, "/messages") && method == "POST" && !slices.Contains(iw.members[room], a.name) {
			fail("a non-member wrote into the room: %d %s", code, resp)
		}
		if code/100 == 2 && strings.HasSuffix(path, "/members") && method == "POST" && !a.admin {
			fail("a non-admin added themselves to a group: %d %s", code, resp)
		}
		if code/100 == 2 && strings.HasSuffix(path, "/members") && method == "POST" && a.admin {
			// Admins only ever reach their own tenant's groups.
			g := path[len("/api/v1/groups/") : len(path)-len("/members")]
			if idx := slices.Index(iw.groups, g); idx != a.tenant {
				fail("an admin changed another tenant's group: %d %s", code, resp)
			}
		}
	}
	t.Logf("%d requests, %d markers, no leak", sent, len(iw.markers))
}

var markerRE = regexp.MustCompile(`~mk[0-9]{6}~`)

func markersIn(body string) []string { return markerRE.FindAllString(body, -1) }

func keys(m map[string]bool) []string {
	out := []string{}
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

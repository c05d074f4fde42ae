package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	_ "modernc.org/sqlite"
)

// crashNode runs `kizuna serve` on one SQLite data directory and kills it
// with SIGKILL: no shutdown hook, no final commit, a WAL left behind.
type crashNode struct {
	t   *testing.T
	bin string
	env []string
	n   *node
}

func (c *crashNode) start() { c.n = startNode(c.t, c.bin, c.env) }

func (c *crashNode) kill() {
	c.n.cmd.Process.Signal(syscall.SIGKILL)
	c.n.cmd.Wait()
}

// stop shuts the server down gracefully, so the database file can be
// opened by the test.
func (c *crashNode) stop() {
	c.n.cmd.Process.Signal(os.Interrupt)
	done := make(chan struct{})
	go func() { c.n.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(15 * time.Second):
		c.t.Fatal("kizuna serve did not stop on SIGINT")
	}
}

// crashSeed is the seed of the kill schedule: KIZUNA_CRASH_SEED replays a
// failing run.
func crashSeed(t *testing.T) uint64 {
	seed := uint64(time.Now().UnixNano())
	if v := os.Getenv("KIZUNA_CRASH_SEED"); v != "" {
		var err error
		if seed, err = strconv.ParseUint(v, 10, 64); err != nil {
			t.Fatalf("KIZUNA_CRASH_SEED: %v", err)
		}
	}
	t.Logf("kill schedule seed %d (replay with KIZUNA_CRASH_SEED=%d)", seed, seed)
	return seed
}

// TestCrashDurability kills `kizuna serve` on SQLite with SIGKILL at random
// moments: during a send load (at least 20 times; every acknowledged
// message is there exactly once afterwards and each room's seqs run 1..N),
// during a 20,000-row CSV import (all rows or none; a retry succeeds) and
// during a domain rename (every member has the old domain or every member
// the new one). The store passes PRAGMA integrity_check at the end of each
// part. KIZUNA_CRASH_KILLS raises the number of kills of the send load.
func TestCrashDurability(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and kills it many times")
	}
	rng := rand.New(rand.NewPCG(crashSeed(t), 10))
	kills := 20
	if v := os.Getenv("KIZUNA_CRASH_KILLS"); v != "" {
		kills, _ = strconv.Atoi(v)
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "kizuna")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	data := filepath.Join(dir, "data")
	env := []string{"KIZUNA_DATA=" + data}
	setup := exec.Command(bin, "setup", "--tenant", "Acme", "--domain", "acme.example", "--owner", "boss")
	setup.Env = append(os.Environ(), env...)
	out, err := setup.CombinedOutput()
	if err != nil {
		t.Fatalf("kizuna setup: %v\n%s", err, out)
	}
	m := regexp.MustCompile(`initial password:\s+(\S+)`).FindSubmatch(out)
	if m == nil {
		t.Fatalf("no initial password in:\n%s", out)
	}
	c := &crashNode{t: t, bin: bin, env: env}
	c.start()
	boss := clusterSignIn(t, c.n.url, "boss@acme.example", string(m[1]))
	tokens := []string{boss}
	for _, local := range []string{"sato", "suzuki"} {
		var added struct {
			InitialPassword string `json:"initial_password"`
		}
		call(t, c.n.url, boss, "POST", "/api/v1/members", fmt.Sprintf(`{"local":%q,"domain":"acme.example"}`, local), 201, &added)
		tokens = append(tokens, clusterSignIn(t, c.n.url, local+"@acme.example", added.InitialPassword))
	}
	var room struct{ ID string }
	call(t, c.n.url, boss, "POST", "/api/v1/rooms", `{"name":"Crash","members":["sato@acme.example","suzuki@acme.example"]}`, 201, &room)

	t.Run("send load", func(t *testing.T) { crashSends(t, c, rng, kills, tokens, room.ID) })
	c.stop()
	checkIntegrity(t, filepath.Join(data, "kizuna.db"))
	if t.Failed() {
		return
	}
	c.start()
	t.Run("CSV import", func(t *testing.T) { crashImport(t, c, rng, boss) })
	t.Run("domain rename", func(t *testing.T) { crashRename(t, c, rng, boss) })
	c.stop()
	checkIntegrity(t, filepath.Join(data, "kizuna.db"))
}

// crashSends runs senders (two per account) and kills the server after a
// random time, kills times. A sender whose request failed retries the same
// client_msg_id after the restart, as an app does: the server must answer
// with the stored message or store it then, never twice.
func crashSends(t *testing.T, c *crashNode, rng *rand.Rand, kills int, tokens []string, roomID string) {
	client := &http.Client{Timeout: 10 * time.Second}
	var mu sync.Mutex
	acked := map[string]string{} // client_msg_id → message ID
	pending := map[int]string{}  // sender → client_msg_id of a request cut off by a kill
	limited := 0
	do := func(base, token, cmid string) (int, string, error) {
		req, _ := http.NewRequest("POST", base+"/api/v1/rooms/"+roomID+"/messages",
			strings.NewReader(fmt.Sprintf(`{"client_msg_id":%q,"body":"crash test %s"}`, cmid, cmid)))
		req.Header.Set("Authorization", "Bearer "+token)
		res, err := client.Do(req)
		if err != nil {
			return 0, "", err
		}
		defer res.Body.Close()
		b, err := io.ReadAll(res.Body)
		if err != nil {
			return 0, "", err
		}
		var msg struct{ ID string }
		json.Unmarshal(b, &msg)
		return res.StatusCode, msg.ID, nil
	}
	const perAccount = 2
	for round := 0; round <= kills; round++ {
		if round > 0 {
			c.start()
		}
		base := c.n.url
		stop := make(chan struct{})
		var wg sync.WaitGroup
		for g := range len(tokens) * perAccount {
			wg.Add(1)
			go func() {
				defer wg.Done()
				token := tokens[g/perAccount]
				for i := 0; ; i++ {
					mu.Lock()
					cmid, retry := pending[g]
					mu.Unlock()
					if !retry {
						cmid = fmt.Sprintf("r%d-g%d-%d", round, g, i)
					}
					status, id, err := do(base, token, cmid)
					mu.Lock()
					switch {
					case err != nil:
						pending[g] = cmid // cut off: unknown whether stored
					case status == 201 || status == 200:
						if prev, ok := acked[cmid]; ok && prev != id {
							t.Errorf("client_msg_id %s acknowledged as %s and as %s", cmid, prev, id)
						}
						acked[cmid] = id
						delete(pending, g)
					case status == http.StatusTooManyRequests:
						limited++
					default:
						t.Errorf("send %s: status %d", cmid, status)
					}
					mu.Unlock()
					if err != nil {
						return
					}
					select {
					case <-stop:
						return
					default:
					}
					if status == http.StatusTooManyRequests {
						time.Sleep(50 * time.Millisecond)
					}
				}
			}()
		}
		if round == kills {
			// The last run is not killed: let it send a little, then stop.
			time.Sleep(200 * time.Millisecond)
			close(stop)
			wg.Wait()
			break
		}
		time.Sleep(time.Duration(50+rng.IntN(600)) * time.Millisecond)
		c.kill()
		wg.Wait()
		close(stop)
	}
	// The senders still holding a cut-off request retry it once more.
	for g, cmid := range pending {
		status, id, err := do(c.n.url, tokens[g/perAccount], cmid)
		if err != nil || (status != 200 && status != 201) {
			t.Fatalf("retrying %s: %d %v", cmid, status, err)
		}
		acked[cmid] = id
	}

	// Read the whole history back, newest page first.
	var all []storedMessage
	var before int64
	for {
		q := "?limit=500"
		if before > 0 {
			q += fmt.Sprintf("&before=%d", before)
		}
		var page struct {
			Messages []storedMessage
			HasMore  bool `json:"has_more"`
		}
		call(t, c.n.url, tokens[0], "GET", "/api/v1/rooms/"+roomID+"/messages"+q, "", 200, &page)
		all = append(all, page.Messages...)
		if !page.HasMore || len(page.Messages) == 0 {
			break
		}
		before = page.Messages[0].Seq
	}
	slices.SortFunc(all, func(a, b storedMessage) int { return int(a.Seq - b.Seq) })
	byCMID := map[string]int{}
	byID := map[string]int{}
	for i, msg := range all {
		if msg.Seq != int64(i+1) {
			t.Fatalf("seq %d at position %d of the history: gap or duplicate", msg.Seq, i+1)
		}
		byCMID[msg.ClientMsgID]++
		byID[msg.ID]++
	}
	for cmid, id := range acked {
		if byID[id] != 1 || byCMID[cmid] != 1 {
			t.Errorf("acknowledged message %s (%s) is in the history %d times (client_msg_id %d times)", id, cmid, byID[id], byCMID[cmid])
		}
	}
	for cmid, n := range byCMID {
		if n > 1 {
			t.Errorf("client_msg_id %s stored %d times", cmid, n)
		}
	}
	t.Logf("%d kills survived; %d acknowledged messages checked, %d in the history (seq 1..%d), %d answers were 429",
		kills, len(acked), len(all), len(all), limited)
}

type storedMessage struct {
	ID          string
	Seq         int64
	ClientMsgID string `json:"client_msg_id"`
}

// crashImport uploads a 20,000-row CSV and kills the server while the
// job writes. Afterwards every row is there or none is; when none, the
// same import run again succeeds.
func crashImport(t *testing.T, c *crashNode, rng *rand.Rand, boss string) {
	const rows = 20000
	for attempt := range 3 {
		prefix := fmt.Sprintf("imp%d-", attempt)
		var csv bytes.Buffer
		csv.WriteString("local,domain,display_name,mail,role\n")
		for i := range rows {
			fmt.Fprintf(&csv, "%s%05d,acme.example,Imported %d,,member\n", prefix, i, i)
		}
		var job struct{ ID, State, Phase string }
		call(t, c.n.url, boss, "POST", "/api/v1/member-imports", csv.String(), 202, &job)
		// Wait for the writing phase (or the end), then kill within it.
		for job.State == "running" && job.Phase != "writing" {
			call(t, c.n.url, boss, "GET", "/api/v1/member-imports/"+job.ID, "", 200, &job)
		}
		time.Sleep(time.Duration(rng.IntN(40)) * time.Millisecond)
		c.kill()
		c.start()
		n := countMembers(t, c.n.url, boss, prefix)
		switch n {
		case rows:
			t.Logf("attempt %d: the import had committed before the kill: all %d rows are there", attempt, n)
			continue
		case 0:
			t.Logf("attempt %d: killed mid-import: no row is there; retrying", attempt)
		default:
			t.Fatalf("attempt %d: %d of %d imported rows are there after the kill: not all or nothing", attempt, n, rows)
		}
		call(t, c.n.url, boss, "POST", "/api/v1/member-imports", csv.String(), 202, &job)
		for deadline := time.Now().Add(30 * time.Second); job.State == "running"; time.Sleep(20 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatal("the retried import did not finish")
			}
			call(t, c.n.url, boss, "GET", "/api/v1/member-imports/"+job.ID, "", 200, &job)
		}
		if job.State != "done" {
			t.Fatalf("retried import: %+v", job)
		}
		if n := countMembers(t, c.n.url, boss, prefix); n != rows {
			t.Fatalf("retried import: %d of %d rows", n, rows)
		}
		return
	}
}

// countMembers pages through the tenant's members and counts the IDs that
// start with prefix.
func countMembers(t *testing.T, base, token, prefix string) int {
	n := 0
	forEachMember(t, base, token, func(signInID, _ string) {
		if strings.HasPrefix(signInID, prefix) {
			n++
		}
	})
	return n
}

func forEachMember(t *testing.T, base, token string, fn func(signInID, domain string)) {
	cursor := ""
	for {
		var page struct {
			Items []struct {
				SignInID string `json:"sign_in_id"`
				Domain   string
			}
			NextCursor string `json:"next_cursor"`
		}
		call(t, base, token, "GET", "/api/v1/members?limit=500&cursor="+url.QueryEscape(cursor), "", 200, &page)
		for _, p := range page.Items {
			fn(p.SignInID, p.Domain)
		}
		if page.NextCursor == "" {
			return
		}
		cursor = page.NextCursor
	}
}

// crashRename renames the tenant's domain and kills the server while the
// request is in flight: afterwards the domain has one name, and every
// member's ID carries it.
func crashRename(t *testing.T, c *crashNode, rng *rand.Rand, boss string) {
	var domains struct {
		Items []struct{ ID, Name string }
	}
	call(t, c.n.url, boss, "GET", "/api/v1/domains", "", 200, &domains)
	id, name := domains.Items[0].ID, domains.Items[0].Name
	for attempt := range 6 {
		next := fmt.Sprintf("renamed%d.example", attempt)
		done := make(chan int, 1)
		go func() {
			req, _ := http.NewRequest("PATCH", c.n.url+"/api/v1/domains/"+id, strings.NewReader(fmt.Sprintf(`{"name":%q}`, next)))
			req.Header.Set("Authorization", "Bearer "+boss)
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				done <- 0
				return
			}
			res.Body.Close()
			done <- res.StatusCode
		}()
		time.Sleep(time.Duration(rng.IntN(4000)) * time.Microsecond)
		c.kill()
		status := <-done
		c.start()
		call(t, c.n.url, boss, "GET", "/api/v1/domains", "", 200, &domains)
		now := domains.Items[0].Name
		if now != name && now != next {
			t.Fatalf("domain named %q after the kill; want %q or %q", now, name, next)
		}
		if status == 200 && now != next {
			t.Fatalf("the rename to %s was acknowledged but the domain is %s after the kill", next, now)
		}
		members, wrong := 0, 0
		forEachMember(t, c.n.url, boss, func(signInID, domain string) {
			members++
			if domain != now || !strings.HasSuffix(signInID, "@"+now) {
				wrong++
			}
		})
		if wrong > 0 {
			t.Fatalf("%d of %d members do not carry the domain's name %s after the kill", wrong, members, now)
		}
		t.Logf("attempt %d: rename answered %d before the kill; the domain is %s, and so are all %d members", attempt, status, now, members)
		name = now
	}
}

// checkIntegrity runs PRAGMA integrity_check (through the backup
// command's check) on a stopped server's database.
func checkIntegrity(t *testing.T, path string) {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := integrityCheck(context.Background(), db); err != nil {
		t.Fatal(err)
	}
	t.Logf("PRAGMA integrity_check: ok")
}

package httpapi_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/kizuna-chat/kizuna/internal/testdb"
	"github.com/kizuna-chat/kizuna/sqlstore"
)

// groupWorld adds to the world: a restricted member "res" (res@acme.example),
// a personal account "personal", groups Engineering (sato, res; with room
// and board) and Secret (its child, adm only), and boards.
type groupWorld struct {
	*world
	eng, secret                       string // group IDs
	allHands, mgrOnly, partners, grpB string // board IDs
	post, hiddenPost                  string // post IDs on allHands and mgrOnly
}

func newGroupWorld(t *testing.T, open func(testing.TB) *sqlstore.DB) *groupWorld {
	w := newWorld(t, open)
	g := &groupWorld{world: w}
	w.addMember("restricted", "res", "acme.example", "member")
	w.must("owner", "PUT", "/api/v1/members/"+w.ids["restricted"]+"/restricted", `{"restricted":true}`, 200)
	// Members may create invite links here; the restricted one may not.
	w.must("owner", "PATCH", "/api/v1/tenant/settings", `{"members_create_invite_links":true}`, 200)
	var p struct {
		Token   string
		Account struct{ ID string }
	}
	w.decode(w.must("", "POST", "/api/v1/personal-accounts", `{"handle":"yuki","password":"a personal passphrase 1"}`, 201), &p)
	w.tokens["personal"], w.ids["personal"] = p.Token, p.Account.ID

	var grp struct {
		ID     string
		RoomID string `json:"room_id"`
	}
	w.decode(w.must("owner", "POST", "/api/v1/groups", `{"name":"Engineering","with_room":true,"with_board":true}`, 201), &grp)
	g.eng = grp.ID
	w.must("owner", "POST", "/api/v1/groups/"+g.eng+"/members", fmt.Sprintf(`{"members":[%q,"res@acme.example"]}`, "sato@dept.acme.example"), 200)
	w.decode(w.must("owner", "POST", "/api/v1/groups", `{"name":"Secret","parent_id":"`+g.eng+`"}`, 201), &grp)
	g.secret = grp.ID
	w.must("owner", "POST", "/api/v1/groups/"+g.secret+"/members", `{"members":["adm@acme.example"],"role":"manager"}`, 200)

	board := func(body string) string {
		var b struct{ ID string }
		w.decode(w.must("owner", "POST", "/api/v1/boards", body, 201), &b)
		return b.ID
	}
	g.allHands = board(`{"name":"All hands","rules":[{"right":"read","kind":"tenant"},{"right":"write","kind":"group","id":"` + g.eng + `"}]}`)
	g.mgrOnly = board(`{"name":"Managers","rules":[{"right":"manage","kind":"member","id":"` + w.ids["admin"] + `"}]}`)
	g.partners = board(`{"name":"Partners welcome","allow_restricted":true,"rules":[{"right":"read","kind":"tenant"}]}`)
	var boards struct {
		Items []struct {
			ID, Name string
			GroupID  string `json:"group_id"`
		}
	}
	w.decode(w.must("owner", "GET", "/api/v1/boards", "", 200), &boards)
	for _, b := range boards.Items {
		if b.GroupID == g.eng {
			g.grpB = b.ID
		}
	}
	var post struct{ ID string }
	w.decode(w.must("owner", "POST", "/api/v1/boards/"+g.allHands+"/posts", `{"title":"Welcome","body":"ようこそ","must_read":true}`, 201), &post)
	g.post = post.ID
	w.decode(w.must("owner", "POST", "/api/v1/boards/"+g.mgrOnly+"/posts", `{"title":"Salaries","body":"confidential"}`, 201), &post)
	g.hiddenPost = post.ID
	return g
}

// actors of the permission matrix, in column order.
var matrixActors = []string{"owner", "admin", "member", "restricted", "other_admin", "personal"}

// TestPermissionMatrix asserts, for each kind of actor and each action on
// groups, boards, posts and the directory, the answer — row by row.
func TestPermissionMatrix(t *testing.T) {
	for _, eng := range testdb.Engines() {
		t.Run(eng.Name, func(t *testing.T) {
			t.Parallel()
			g := newGroupWorld(t, eng.Open)
			w := g.world
			type row struct {
				action, method, path, body string
				// want holds the status for each of matrixActors.
				want [6]int
				// leak must not appear in any answer of an actor whose
				// status is 2xx unless they may see it (checked by the
				// rows' own statuses).
				hide string
			}
			sato := w.ids["member"]
			rows := []row{
				{"list groups", "GET", "/api/v1/groups", "", [6]int{200, 200, 200, 200, 200, 403}, ""},
				{"see a group", "GET", "/api/v1/groups/" + g.eng, "", [6]int{200, 200, 200, 200, 404, 403}, ""},
				{"see a group one is not in", "GET", "/api/v1/groups/" + g.secret, "", [6]int{200, 200, 200, 404, 404, 403}, ""},
				{"list a group's members", "GET", "/api/v1/groups/" + g.eng + "/members", "", [6]int{200, 200, 200, 200, 404, 403}, ""},
				{"list a hidden group's members", "GET", "/api/v1/groups/" + g.secret + "/members", "", [6]int{200, 200, 200, 404, 404, 403}, ""},
				{"create a group", "POST", "/api/v1/groups", `{"name":"New"}`, [6]int{201, 201, 403, 403, 201, 403}, ""},
				{"rename a group", "PATCH", "/api/v1/groups/" + g.eng, `{"name":"Engineering"}`, [6]int{200, 200, 403, 403, 404, 403}, ""},
				{"add an external ID to a group", "POST", "/api/v1/groups/" + g.eng + "/members", `{"members":["tanaka@partner.example"]}`, [6]int{422, 422, 403, 403, 404, 403}, ""},
				{"list boards", "GET", "/api/v1/boards", "", [6]int{200, 200, 200, 200, 200, 403}, "Salaries"},
				{"read a tenant-wide board", "GET", "/api/v1/boards/" + g.allHands, "", [6]int{200, 200, 200, 404, 404, 403}, ""},
				{"read a board opened to restricted members", "GET", "/api/v1/boards/" + g.partners, "", [6]int{200, 200, 200, 200, 404, 403}, ""},
				{"read a board of named members", "GET", "/api/v1/boards/" + g.mgrOnly, "", [6]int{200, 200, 404, 404, 404, 403}, ""},
				{"read a group's board", "GET", "/api/v1/boards/" + g.grpB, "", [6]int{200, 200, 200, 404, 404, 403}, ""},
				{"list posts", "GET", "/api/v1/boards/" + g.allHands + "/posts", "", [6]int{200, 200, 200, 404, 404, 403}, ""},
				{"read a post", "GET", "/api/v1/boards/" + g.allHands + "/posts/" + g.post, "", [6]int{200, 200, 200, 404, 404, 403}, ""},
				{"guess a post on a hidden board", "GET", "/api/v1/boards/" + g.mgrOnly + "/posts/" + g.hiddenPost, "", [6]int{200, 200, 404, 404, 404, 403}, "confidential"},
				{"post", "POST", "/api/v1/boards/" + g.allHands + "/posts", `{"title":"hi","body":"x"}`, [6]int{201, 201, 201, 404, 404, 403}, ""},
				{"pin a post", "POST", "/api/v1/boards/" + g.allHands + "/posts", `{"title":"hi","body":"x","pinned":true}`, [6]int{201, 201, 403, 404, 404, 403}, ""},
				{"comment", "POST", "/api/v1/boards/" + g.allHands + "/posts/" + g.post + "/comments", `{"body":"👍"}`, [6]int{201, 201, 201, 404, 404, 403}, ""},
				{"mark read", "POST", "/api/v1/boards/" + g.allHands + "/posts/" + g.post + "/read", "", [6]int{204, 204, 204, 404, 404, 403}, ""},
				{"see who read", "GET", "/api/v1/boards/" + g.allHands + "/posts/" + g.post + "/readers", "", [6]int{200, 200, 403, 404, 404, 403}, ""},
				{"change board permissions", "PUT", "/api/v1/boards/" + g.allHands, `{"name":"All hands","rules":[{"right":"read","kind":"tenant"},{"right":"write","kind":"group","id":"` + g.eng + `"}]}`, [6]int{200, 200, 403, 404, 404, 403}, ""},
				{"change a named-members board", "PUT", "/api/v1/boards/" + g.mgrOnly, `{"name":"Managers","rules":[{"right":"manage","kind":"member","id":"` + w.ids["admin"] + `"}]}`, [6]int{200, 200, 404, 404, 404, 403}, ""},
				{"create a board", "POST", "/api/v1/boards", `{"name":"B","rules":[]}`, [6]int{201, 201, 403, 403, 201, 403}, ""},
				{"search the directory", "GET", "/api/v1/directory?q=sa", "", [6]int{200, 200, 200, 200, 200, 403}, ""},
				{"view as a member", "GET", "/api/v1/members/" + sato + "/view-as", "", [6]int{200, 200, 403, 403, 404, 403}, ""},
				{"restrict a member", "PUT", "/api/v1/members/" + sato + "/restricted", `{"restricted":false}`, [6]int{200, 200, 403, 403, 404, 403}, ""},
				{"set restrictions", "PUT", "/api/v1/tenant/restrictions", `{"hide_boards":true,"limit_directory":true,"no_invite_links":true,"no_external_contacts":true}`, [6]int{200, 200, 403, 403, 200, 403}, ""},
				{"create an invite link", "POST", "/api/v1/invite-links", `{}`, [6]int{201, 201, 201, 403, 201, 403}, ""},
				{"add an external contact", "POST", "/api/v1/contacts", `{"id":"tanaka@partner.example"}`, [6]int{201, 201, 201, 403, 422, 201}, ""},
			}
			for _, r := range rows {
				for i, actor := range matrixActors {
					code, body := w.do(actor, r.method, r.path, r.body)
					if code != r.want[i] {
						t.Errorf("%s as %s: %d, want %d: %s", r.action, actor, code, r.want[i], body)
					}
					if r.hide != "" && r.want[i] >= 400 && strings.Contains(body, r.hide) {
						t.Errorf("%s as %s leaks %q: %s", r.action, actor, r.hide, body)
					}
					if r.want[i] == 404 && !strings.Contains(body, `"not_found"`) {
						t.Errorf("%s as %s: a hidden item must answer like a missing one: %s", r.action, actor, body)
					}
				}
			}
		})
	}
}

func TestGroupsAndBoards(t *testing.T) {
	for _, eng := range testdb.Engines() {
		t.Run(eng.Name, func(t *testing.T) {
			t.Parallel()
			g := newGroupWorld(t, eng.Open)
			w := g.world
			// An external ID is refused with what to do instead (R8).
			_, body := w.do("owner", "POST", "/api/v1/groups/"+g.eng+"/members", `{"members":["tanaka@partner.example"]}`)
			if !strings.Contains(body, "issue the person an ID in one of your domains") || !strings.Contains(body, "Partner Co") {
				t.Errorf("external add: %s", body)
			}
			// No cycles in the tree.
			code, body := w.do("owner", "PATCH", "/api/v1/groups/"+g.eng, `{"parent_id":"`+g.secret+`"}`)
			if code != 409 || !strings.Contains(body, `"cyclic_group"`) {
				t.Errorf("cycle: %d %s", code, body)
			}
			w.must("owner", "PATCH", "/api/v1/groups/"+g.eng, `{"parent_id":"`+g.eng+`"}`, 409)
			w.must("owner", "DELETE", "/api/v1/groups/"+g.eng, "", 409)

			// The group's room follows the group.
			var grp struct {
				RoomID string `json:"room_id"`
			}
			w.decode(w.must("owner", "GET", "/api/v1/groups/"+g.eng, "", 200), &grp)
			var room roomOut
			w.decode(w.must("member", "GET", "/api/v1/rooms/"+grp.RoomID, "", 200), &room)
			if len(room.Members) != 3 {
				t.Errorf("group room members = %+v, want the creator, sato and res", room.Members)
			}
			// The room's members are the group's: changed through the group only.
			w.must("owner", "POST", "/api/v1/rooms/"+grp.RoomID+"/members", `{"members":["adm@acme.example"]}`, 422)
			w.must("member", "DELETE", "/api/v1/rooms/"+grp.RoomID+"/members/"+w.ids["member"], "", 422)
			w.must("owner", "DELETE", "/api/v1/groups/"+g.eng+"/members/"+w.ids["member"], "", 204)
			w.must("member", "GET", "/api/v1/rooms/"+grp.RoomID, "", 404)

			// Mandatory reading: who has read it.
			w.must("admin", "POST", "/api/v1/boards/"+g.allHands+"/posts/"+g.post+"/read", "", 204)
			var readers struct{ Items []struct{ ID string } }
			w.decode(w.must("owner", "GET", "/api/v1/boards/"+g.allHands+"/posts/"+g.post+"/readers", "", 200), &readers)
			if len(readers.Items) != 1 || readers.Items[0].ID != w.ids["admin"] {
				t.Errorf("readers = %+v", readers)
			}
			// Pinned first.
			w.must("owner", "POST", "/api/v1/boards/"+g.allHands+"/posts", `{"title":"Later","body":"x"}`, 201)
			w.must("owner", "PATCH", "/api/v1/boards/"+g.allHands+"/posts/"+g.post, `{"title":"Welcome","body":"ようこそ","must_read":true,"pinned":true}`, 200)
			var posts struct{ Items []struct{ ID string } }
			w.decode(w.must("admin", "GET", "/api/v1/boards/"+g.allHands+"/posts", "", 200), &posts)
			if len(posts.Items) != 2 || posts.Items[0].ID != g.post {
				t.Errorf("posts = %+v, want the pinned one first", posts)
			}
			// Pages of the others follow, newest first, with nothing twice.
			for i := range 3 {
				w.must("owner", "POST", "/api/v1/boards/"+g.allHands+"/posts", fmt.Sprintf(`{"title":"p%d","body":"x"}`, i), 201)
			}
			seen := map[string]bool{}
			cursor := ""
			for pages := 0; ; pages++ {
				var page struct {
					Items      []struct{ ID string }
					NextCursor string `json:"next_cursor"`
				}
				w.decode(w.must("admin", "GET", "/api/v1/boards/"+g.allHands+"/posts?limit=2&cursor="+cursor, "", 200), &page)
				for _, p := range page.Items {
					if seen[p.ID] {
						t.Errorf("post %s twice", p.ID)
					}
					seen[p.ID] = true
				}
				if cursor = page.NextCursor; cursor == "" || pages > 5 {
					break
				}
			}
			if len(seen) != 5 {
				t.Errorf("paged through %d posts, want 5", len(seen))
			}

			// The directory folds width and case; a restricted member sees
			// only group mates and people they talk with.
			w.must("owner", "PATCH", "/api/v1/members/"+w.ids["member"], `{"display_name":"ｻﾄｳ Taro"}`, 200)
			var dir struct {
				People []struct {
					ID       string
					SignInID string `json:"sign_in_id"`
				}
				Limited bool
			}
			for _, q := range []string{"サトウ", "ｻﾄｳ", "SATO", "ｓａｔｏ"} {
				w.decode(w.must("owner", "GET", "/api/v1/directory?q="+q, "", 200), &dir)
				if len(dir.People) != 1 || dir.People[0].ID != w.ids["member"] {
					t.Errorf("directory %q = %+v", q, dir)
				}
			}
			w.decode(w.must("restricted", "GET", "/api/v1/directory?q=", "", 200), &dir)
			if !dir.Limited || len(dir.People) != 2 { // res and boss (Engineering's creator)
				b, _ := json.Marshal(dir)
				t.Errorf("restricted directory = %s", b)
			}
			w.decode(w.must("owner", "GET", "/api/v1/directory?q=", "", 200), &dir)
			if dir.Limited || len(dir.People) < 4 {
				t.Errorf("owner's directory = %+v", dir)
			}

			// View as: what res sees now, and would see unrestricted.
			var va struct {
				Restricted bool
				Boards     []struct{ Name string }
				Directory  struct{ People []struct{ ID string } }
			}
			w.decode(w.must("owner", "GET", "/api/v1/members/"+w.ids["restricted"]+"/view-as", "", 200), &va)
			if !va.Restricted || len(va.Boards) != 1 || va.Boards[0].Name != "Partners welcome" {
				t.Errorf("view as res = %+v", va)
			}
			w.decode(w.must("owner", "GET", "/api/v1/members/"+w.ids["restricted"]+"/view-as?restricted=false", "", 200), &va)
			if va.Restricted || len(va.Boards) != 3 {
				t.Errorf("view as res unrestricted = %+v", va)
			}
			// The tenant decides what restriction means.
			w.must("owner", "PUT", "/api/v1/tenant/restrictions", `{"hide_boards":false,"limit_directory":true,"no_invite_links":true,"no_external_contacts":true}`, 200)
			w.must("restricted", "GET", "/api/v1/boards/"+g.allHands, "", 200)
		})
	}
}

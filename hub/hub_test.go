package hub

import (
	"fmt"
	"testing"
)

func frames(evs []Event) []string {
	var out []string
	for _, e := range evs {
		out = append(out, string(e.Frame))
	}
	return out
}

func TestLocalDeliversInOrderOnce(t *testing.T) {
	h := &Local{}
	both := h.Subscribe([]string{"a", "b"})
	onlyB := h.Subscribe([]string{"b"})
	other := h.Subscribe([]string{"c"})
	h.Publish([]Event{
		{Pos: 1, Recipients: []string{"a", "b"}, Frame: []byte("1")},
		{Pos: 2, Recipients: []string{"b"}, Frame: []byte("2")},
		{Pos: 0, Recipients: []string{"a", "b"}, Frame: []byte("notice")},
		{Pos: 3, Everyone: true, Frame: []byte("all")},
	})
	if got := fmt.Sprint(frames(both.Take())); got != "[1 2 notice all]" {
		t.Errorf("a+b got %s", got)
	}
	if got := fmt.Sprint(frames(onlyB.Take())); got != "[1 2 notice all]" {
		t.Errorf("b got %s", got)
	}
	if got := fmt.Sprint(frames(other.Take())); got != "[all]" {
		t.Errorf("c got %s", got)
	}
	if st := h.Stats(); st.Connections != 3 {
		t.Errorf("stats = %+v", st)
	}
}

func TestLocalDropsSlowSubscriber(t *testing.T) {
	h := &Local{QueueLimit: 3}
	slow := h.Subscribe([]string{"a"})
	fast := h.Subscribe([]string{"a"})
	for i := 1; i <= 10; i++ {
		h.Publish([]Event{{Pos: int64(i), Recipients: []string{"a"}, Frame: []byte(fmt.Sprint(i))}})
		fast.Take() // keeps up
	}
	select {
	case <-slow.Lagged():
	default:
		t.Fatal("the slow subscriber was not dropped")
	}
	select {
	case <-fast.Lagged():
		t.Fatal("the fast subscriber was dropped")
	default:
	}
	h.Publish([]Event{{Pos: 11, Recipients: []string{"a"}, Frame: []byte("11")}})
	if got := frames(fast.Take()); len(got) != 1 || got[0] != "11" {
		t.Errorf("fast after the drop got %v", got)
	}
	if st := h.Stats(); st.Dropped != 1 || st.Connections != 1 {
		t.Errorf("stats = %+v", st)
	}
}

func TestLocalSetAccountsAndClose(t *testing.T) {
	h := &Local{}
	s := h.Subscribe([]string{"a"})
	s.SetAccounts([]string{"b"})
	h.Publish([]Event{{Pos: 1, Recipients: []string{"a"}, Frame: []byte("for a")}, {Pos: 2, Recipients: []string{"b"}, Frame: []byte("for b")}})
	if got := fmt.Sprint(frames(s.Take())); got != "[for b]" {
		t.Errorf("after SetAccounts got %s", got)
	}
	s.Close()
	h.Publish([]Event{{Pos: 3, Recipients: []string{"b"}, Frame: []byte("late")}})
	if got := s.Take(); len(got) != 0 {
		t.Errorf("closed subscription got %v", frames(got))
	}
	if st := h.Stats(); st.Connections != 0 {
		t.Errorf("stats = %+v", st)
	}
}

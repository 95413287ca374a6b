package event

import "testing"

func TestListeners(t *testing.T) {
	var l Listeners[int]
	var got []int
	off := l.On(func(v int) { got = append(got, v) })
	l.On(func(v int) { got = append(got, v*10) })
	l.Emit(1)
	off()
	off()
	l.Emit(2)
	want := []int{1, 10, 20}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("got %v, want %v", got, want)
		}
	}
	if l.Len() != 1 {
		t.Fatalf("Len = %d", l.Len())
	}
	l.Clear()
	l.Emit(3)
	if len(got) != 3 {
		t.Fatalf("emitted after Clear: %v", got)
	}
}

func TestOffInsideEmit(t *testing.T) {
	var l Listeners[struct{}]
	n := 0
	var off func()
	off = l.On(Func(func() { n++; off() }))
	l.Emit(struct{}{})
	l.Emit(struct{}{})
	if n != 1 {
		t.Fatalf("n = %d", n)
	}
}

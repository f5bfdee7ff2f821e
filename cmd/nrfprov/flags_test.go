package main

import "testing"

func TestBoardListFlag(t *testing.T) {
	var f boardFlags
	v := boardList{&f}
	for _, s := range []string{"960000001", "000960000002, 960000003"} {
		if err := v.Set(s); err != nil {
			t.Fatal(err)
		}
	}
	if f.board != "960000001" || len(f.boards) != 3 || f.boards[2] != "960000003" || v.String() != "960000001,000960000002,960000003" {
		t.Fatalf("board %q boards %q", f.board, f.boards)
	}
	if err := v.Set("1,,2"); err == nil {
		t.Fatal("an empty serial number was accepted")
	}
}

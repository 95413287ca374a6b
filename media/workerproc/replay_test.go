package workerproc_test

import (
	"bufio"
	"encoding/json"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/coder/websocket"

	"github.com/ropehq/rope/media/workerproc"
	"github.com/ropehq/rope/rope"
)

// TestChildReplayWindow starts a worker child (this test binary in worker
// mode), connects to it as the parent does and reads its rope.init: the
// child announces its small replay window (its parent never resumes), not
// a server's default of 16,384 notifications.
func TestChildReplayWindow(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, "-test.run=^$")
	cmd.Env = append(os.Environ(), workerproc.EnvWorkerMode+"=1")
	stdin := must[interface{ Close() error }](t)(cmd.StdinPipe())
	stdout := must[interface{ Read([]byte) (int, error) }](t)(cmd.StdoutPipe())
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		_ = stdin.Close() // the child's end
		if err := cmd.Wait(); err != nil {
			t.Errorf("child: %v", err)
		}
	}()
	url, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		t.Fatalf("child's URL: %v", err)
	}
	ctx := ctxT(t)
	c, _, err := websocket.Dial(ctx, strings.TrimSpace(url), &websocket.DialOptions{Subprotocols: []string{rope.Subprotocol}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	c.SetReadLimit(-1)
	_, b, err := c.Read(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var m struct {
		Method string          `json:"method"`
		Params rope.InitParams `json:"params"`
	}
	if err := json.Unmarshal(b, &m); err != nil || m.Method != "rope.init" {
		t.Fatalf("first message %.200s: %v", b, err)
	}
	if m.Params.ReplayWindow != workerproc.ChildReplayWindow {
		t.Errorf("child's replay window %d, want %d", m.Params.ReplayWindow, workerproc.ChildReplayWindow)
	}
}

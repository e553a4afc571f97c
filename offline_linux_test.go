//go:build linux

package edgeai_test

import (
	"errors"
	"fmt"
	"net"
	"os/exec"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

func init() { prepareChild = prepareLinuxChild }

// Child modes.
const (
	modePlain        = "plain"         // just generate
	modeSeccomp      = "seccomp"       // generate with socket creation forbidden
	modeSeccompProbe = "seccomp-probe" // forbid sockets, then make one: must die
	modeNetns        = "netns"         // check that there is no network, then generate
)

// errNoSeccomp marks a kernel (or emulator) without seccomp filters.
var errNoSeccomp = errors.New("seccomp filters unavailable")

func prepareLinuxChild(mode string) (string, error) {
	switch mode {
	case modePlain:
		return "", nil
	case modeSeccomp:
		return "", forbidSockets()
	case modeSeccompProbe:
		if err := forbidSockets(); err != nil {
			return "", err
		}
		fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM, 0)
		return "", fmt.Errorf("socket() returned fd %d, err %v: the filter does not work", fd, err)
	case modeNetns:
		c, err := net.DialTimeout("tcp", "192.0.2.1:80", 2*time.Second) // TEST-NET-1
		if err == nil {
			c.Close()
			return "", errors.New("a TCP connection to 192.0.2.1 succeeded: the network is available")
		}
		var names []string
		ifs, _ := net.Interfaces()
		for _, i := range ifs {
			if i.Flags&net.FlagUp != 0 && i.Flags&net.FlagLoopback == 0 {
				return "", fmt.Errorf("interface %s is up", i.Name)
			}
			names = append(names, i.Name)
		}
		return fmt.Sprintf("dial failed (%v); interfaces %v, none up but loopback", err, names), nil
	}
	return "", fmt.Errorf("unknown child mode %q", mode)
}

// forbidSockets installs a seccomp filter on every thread of the process
// that kills it (SIGSYS) at the first socket, socketpair or io_uring_setup
// system call, or any system call of another ABI (x32).
func forbidSockets() error {
	var arch uint32
	switch runtime.GOARCH {
	case "amd64":
		arch = unix.AUDIT_ARCH_X86_64
	case "arm64":
		arch = unix.AUDIT_ARCH_AARCH64
	default:
		return fmt.Errorf("%w: no filter written for %s", errNoSeccomp, runtime.GOARCH)
	}
	const (
		ld  = unix.BPF_LD | unix.BPF_W | unix.BPF_ABS
		jeq = unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K
		jge = unix.BPF_JMP | unix.BPF_JGE | unix.BPF_K
		ret = unix.BPF_RET | unix.BPF_K
	)
	filter := []unix.SockFilter{
		{Code: ld, K: 4}, // seccomp_data.arch
		{Code: jeq, Jt: 1, Jf: 0, K: arch},
		{Code: ret, K: unix.SECCOMP_RET_KILL_PROCESS},
		{Code: ld, K: 0}, // seccomp_data.nr
		{Code: jge, Jt: 4, K: 0x40000000},
		{Code: jeq, Jt: 3, K: uint32(unix.SYS_SOCKET)},
		{Code: jeq, Jt: 2, K: uint32(unix.SYS_SOCKETPAIR)},
		{Code: jeq, Jt: 1, K: uint32(unix.SYS_IO_URING_SETUP)},
		{Code: ret, K: unix.SECCOMP_RET_ALLOW},
		{Code: ret, K: unix.SECCOMP_RET_KILL_PROCESS},
	}
	prog := unix.SockFprog{Len: uint16(len(filter)), Filter: &filter[0]}
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		return fmt.Errorf("%w: PR_SET_NO_NEW_PRIVS: %v", errNoSeccomp, err)
	}
	if _, _, e := unix.Syscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER, unix.SECCOMP_FILTER_FLAG_TSYNC,
		uintptr(unsafe.Pointer(&prog))); e != 0 {
		return fmt.Errorf("%w: seccomp(SET_MODE_FILTER, TSYNC): %v", errNoSeccomp, e)
	}
	runtime.KeepAlive(filter)
	return nil
}

// needReexec skips the test when this test binary cannot start itself as a
// child (for example when it runs under qemu-user without binfmt_misc), and
// fails it when the child starts but cannot generate.
func needReexec(t *testing.T) {
	t.Helper()
	r, out, err := runChild(t, modePlain)
	var ee *exec.ExitError
	switch {
	case err != nil && !errors.As(err, &ee):
		t.Skipf("cannot re-execute the test binary here (an emulator without binfmt_misc?): %v", err)
	case err != nil || r == nil:
		t.Fatalf("plain child: %v\n%s", err, out)
	}
}

// TestOfflineSeccomp proves that a generation creates no socket: the child
// runs it under a filter that kills the process at the first socket()
// call. A probe child first shows that the filter does kill.
func TestOfflineSeccomp(t *testing.T) {
	g := readGolden(t)
	if runtime.GOARCH != "amd64" && runtime.GOARCH != "arm64" {
		t.Skipf("no seccomp filter written for %s", runtime.GOARCH)
	}
	needReexec(t)
	_, out, err := runChild(t, modeSeccompProbe)
	if strings.Contains(out, errNoSeccomp.Error()) {
		t.Skipf("this kernel or emulator has no seccomp filters:\n%s", out)
	}
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		t.Fatalf("probe child: %v\n%s", err, out)
	}
	ws, ok := ee.Sys().(syscall.WaitStatus)
	if !ok || !ws.Signaled() || ws.Signal() != syscall.SIGSYS {
		t.Fatalf("probe child was not killed by SIGSYS when it made a socket (%v):\n%s", err, out)
	}
	r, out, err := runChild(t, modeSeccomp)
	if err != nil || r == nil {
		t.Fatalf("generation under the no-socket filter failed: %v\n%s", err, out)
	}
	checkGolden(t, g, r.IDs, r.Text)
}

// TestOfflineNetns runs the generation in a network namespace of its own
// (unshare -n: no interface but a loopback that is down).
func TestOfflineNetns(t *testing.T) {
	g := readGolden(t)
	needReexec(t)
	unshare, err := exec.LookPath("unshare")
	if err != nil {
		t.Skip("unshare (util-linux) is not installed")
	}
	var wrap []string
	for _, try := range [][]string{{unshare, "-n"}, {unshare, "-r", "-n"}} {
		if exec.Command(try[0], append(try[1:], "true")...).Run() == nil {
			wrap = try
			break
		}
	}
	if wrap == nil {
		t.Skip("unshare -n is not permitted here (needs root or unprivileged user namespaces)")
	}
	r, out, err := runChild(t, modeNetns, wrap...)
	if err != nil || r == nil {
		t.Fatalf("%v: %v\n%s", wrap, err, out)
	}
	checkGolden(t, g, r.IDs, r.Text)
	t.Logf("%v: %s", wrap, r.Note)
}

package sinks

// The owner lock: a run owns its output. OUT/_nblast_owner.json names the
// run that is writing OUT; it is created (only if absent) before the run
// touches anything else under OUT, renewed by a heartbeat while the run
// lives, and removed when it ends. A second run into the same OUT is
// refused while the owner lives; a dead owner's lock (its process gone on
// this host, or no heartbeat for OwnerStaleAfter) is taken over. Every
// sink checks, just before it marks its output complete (Zarr "complete",
// the sparse and top-k manifests), that its run still owns OUT, so no run
// marks complete an output another run has written into.

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/nblast-go/nblast/internal/files"
)

// OwnerName is the owner lock's file name under OUT.
const OwnerName = "_nblast_owner.json"

// Heartbeat timing: the owner rewrites its lock every OwnerHeartbeat; a
// lock not rewritten for OwnerStaleAfter belongs to a dead run (on another
// host; on this host the process is checked directly).
const (
	OwnerHeartbeat  = 20 * time.Second
	OwnerStaleAfter = 2 * time.Minute
)

// Owner is the content of the owner lock.
type Owner struct {
	Run       string    `json:"run"` // random id of the run
	Host      string    `json:"host"`
	PID       int       `json:"pid"`
	Command   string    `json:"command"`
	Started   time.Time `json:"started"`
	Heartbeat time.Time `json:"heartbeat"`
}

// NewOwner describes this process as the owner of a run.
func NewOwner() Owner {
	host, _ := os.Hostname()
	now := time.Now().UTC().Truncate(time.Second)
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err)
	}
	return Owner{Run: fmt.Sprintf("%x", b), Host: host, PID: os.Getpid(), Command: strings.Join(os.Args, " "), Started: now, Heartbeat: now}
}

// describe names the run for messages.
func (o Owner) describe(now time.Time) string {
	return fmt.Sprintf("run %s (pid %d on host %s, started %s, last heartbeat %s ago: %s)",
		o.Run, o.PID, o.Host, o.Started.Local().Format("2006-01-02 15:04:05"), now.Sub(o.Heartbeat).Round(time.Second), o.Command)
}

// alive judges whether the run that wrote lock o is still running.
func (o Owner) alive(now time.Time) bool {
	host, _ := os.Hostname()
	if o.Host == host && o.PID > 0 && now.Sub(o.Heartbeat) < 10*OwnerStaleAfter {
		// Same host: ask the kernel (a killed run is seen at once; a
		// process that is merely slow or stopped still counts).
		err := syscall.Kill(o.PID, 0)
		return err == nil || errors.Is(err, syscall.EPERM)
	}
	return now.Sub(o.Heartbeat) < OwnerStaleAfter
}

// Claim is a run's ownership of an output, kept alive by a heartbeat
// until Release.
type Claim struct {
	Owner Owner
	// Previous is the dead run whose lock this claim took over, if any.
	Previous *Owner

	path string
	mu   sync.Mutex
	v    files.Version
	lost error // set when the lock was found changed by another run
	stop chan struct{}
	done chan struct{}
}

// ClaimOutput makes me the owner of out: it creates OUT/_nblast_owner.json
// if absent, or takes it over from a run that is no longer alive. A live
// owner is an error naming it. The claim's heartbeat runs until Release.
func ClaimOutput(ctx context.Context, out string, me Owner) (*Claim, error) {
	p := files.Join(out, OwnerName)
	doc, err := files.MarshalJSON(me)
	if err != nil {
		return nil, err
	}
	c := &Claim{Owner: me, path: p}
	for attempt := 0; ; attempt++ {
		err := files.CreateNew(ctx, p, doc)
		if err == nil {
			if _, c.v, err = files.ReadVersion(ctx, p); err != nil {
				return nil, err
			}
			break
		}
		if !errors.Is(err, files.ErrExist) || attempt == 3 {
			return nil, fmt.Errorf("--out %s: cannot create the owner lock: %w", out, err)
		}
		raw, v, err := files.ReadVersion(ctx, p)
		if errors.Is(err, fs.ErrNotExist) {
			continue // released meanwhile
		} else if err != nil {
			return nil, err
		}
		var prev Owner
		if json.Unmarshal(raw, &prev) == nil && prev.Run != "" && prev.alive(time.Now()) {
			return nil, fmt.Errorf("--out %s is being written by another %s: wait for it to finish (or stop it), or choose another --out", out, prev.describe(time.Now()))
		}
		if c.v, err = files.ReplaceIf(ctx, p, doc, v); errors.Is(err, files.ErrChanged) {
			continue // another run got there first: judge it
		} else if err != nil {
			return nil, fmt.Errorf("--out %s: take over the owner lock: %w", out, err)
		}
		c.Previous = &prev
		break
	}
	c.stop, c.done = make(chan struct{}), make(chan struct{})
	go c.heartbeat(context.WithoutCancel(ctx))
	return c, nil
}

func (c *Claim) heartbeat(ctx context.Context) {
	defer close(c.done)
	t := time.NewTicker(OwnerHeartbeat)
	defer t.Stop()
	for {
		select {
		case <-c.stop:
			return
		case <-t.C:
		}
		c.mu.Lock()
		if c.lost == nil {
			o := c.Owner
			o.Heartbeat = time.Now().UTC().Truncate(time.Second)
			doc, _ := files.MarshalJSON(o)
			v, err := files.ReplaceIf(ctx, c.path, doc, c.v)
			switch {
			case err == nil:
				c.v = v
			case errors.Is(err, files.ErrChanged):
				c.lost = err
				fmt.Fprintf(os.Stderr, "\nwarning: another run took over %s; this run will not mark the output complete\n", c.path)
			} // other errors (a network blip): try again at the next beat
		}
		c.mu.Unlock()
	}
}

// Release stops the heartbeat and removes the lock if this run still
// owns it. Safe to call more than once.
func (c *Claim) Release(ctx context.Context) error {
	if c == nil {
		return nil
	}
	select {
	case <-c.stop:
		return nil
	default:
		close(c.stop)
	}
	<-c.done
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.lost != nil {
		return nil
	}
	if err := files.RemoveIf(ctx, c.path, c.v); err != nil && !errors.Is(err, files.ErrChanged) {
		return err
	}
	return nil
}

// OwnerOf reads the owner lock of out: nil when no run holds it; alive
// says whether the run that wrote it still runs, and Describe names it.
func OwnerOf(ctx context.Context, out string) (o *Owner, alive bool, err error) {
	raw, _, err := files.ReadVersion(ctx, files.Join(out, OwnerName))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, false, nil
	} else if err != nil {
		return nil, false, err
	}
	o = &Owner{}
	if err := json.Unmarshal(raw, o); err != nil {
		return nil, false, fmt.Errorf("%s: invalid owner lock: %w", files.Join(out, OwnerName), err)
	}
	return o, o.alive(time.Now()), nil
}

// Describe names the run for messages: id, pid, host, start, heartbeat
// and command.
func (o Owner) Describe() string { return o.describe(time.Now()) }

// RunOwner names the run a sink writes for: the output whose lock it
// checks and the run id. The zero value checks nothing (a sink used on
// its own, outside a run).
type RunOwner struct {
	Out, Run string
}

// Check fails unless OUT/_nblast_owner.json still names r's run.
func (r RunOwner) Check(ctx context.Context) error {
	if r.Run == "" {
		return nil
	}
	p := files.Join(r.Out, OwnerName)
	raw, _, err := files.ReadVersion(ctx, p)
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%s: the owner lock of run %s is gone (another run took over the output): not marking it complete", r.Out, r.Run)
	} else if err != nil {
		return err
	}
	var o Owner
	if err := json.Unmarshal(raw, &o); err != nil {
		return fmt.Errorf("%s: invalid owner lock: %w", p, err)
	}
	if o.Run != r.Run {
		return fmt.Errorf("%s is now owned by another %s: this run (%s) does not mark it complete", r.Out, o.describe(time.Now()), r.Run)
	}
	return nil
}

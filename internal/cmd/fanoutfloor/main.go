// Command fanoutfloor measures the floor under the talk profile: the same
// WebSocket traffic over loopback TCP with nothing behind it. A server
// process accepts 1,000 clients in rooms of 10; each client sends a
// 300-byte message at its share of the rate and waits for the ack, and the
// server writes the message to the other 9 members and acks it. No store,
// no JSON, no sessions: what is left is what every delivery must cost on
// this machine (a write system call on the server, a read on the client,
// the wakeups between them), and the latency the two processes add on two
// shared cores.
//
// Run it next to a `kizuna loadtest` of the same shape to see how much of
// the machine, and of the p99, the server's own work takes:
//
//	go run ./internal/cmd/fanoutfloor --rate 5000 --duration 20s
//
// It starts the server as a second process of itself (as a real server
// runs apart from its load), on two CPUs, and runs the clients on one, as
// `kizuna loadtest --pid` does.
//
// With --persist the server first stores each message in SQLite and
// delivers it after its commit (see store.go): the least a durable chat
// server on the embedded store does, to tell what the store costs the
// latency from what Kizuna's own work on top of it does:
//
//	go run ./internal/cmd/fanoutfloor --rate 5000 --duration 20s --persist /tmp/floor.db
//
// While it runs, the server process serves a CPU profile:
//
//	curl -o floor.pprof "http://127.0.0.1:8199/debug/pprof/profile?seconds=10"
package main

import (
	"context"
	"encoding/binary"
	"flag"
	"fmt"
	"log"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"

	"github.com/kizuna-chat/kizuna/loadtest"
)

func main() {
	var (
		serve     = flag.Bool("serve", false, "run as the server process (started by the command itself)")
		addr      = flag.String("addr", "127.0.0.1:8199", "the server's address")
		clients   = flag.Int("clients", 1000, "connected clients, all sending")
		roomSize  = flag.Int("room-size", 10, "clients per room")
		rate      = flag.Float64("rate", 5000, "messages per second in total")
		duration  = flag.Duration("duration", 20*time.Second, "time measured")
		warmup    = flag.Duration("warmup", 5*time.Second, "time before measuring")
		perWriter = flag.Bool("writer-per-delivery", true, "server: a goroutine per delivery, as Kizuna starts a socket writer on demand (false: the reader writes to every member itself)")
		pool      = flag.Int("writers", 0, "server: this many long-lived goroutines write the deliveries, handed over on a channel (0: see --writer-per-delivery)")
		persist   = flag.String("persist", "", "server: first store each message in an SQLite database at this path (replaced if it exists, removed afterwards), committed in groups by one writer, and deliver and ack it after its commit")
	)
	flag.Parse()
	if *clients%*roomSize != 0 {
		log.Fatal("fanoutfloor: --clients must be a multiple of --room-size")
	}
	if *serve {
		runServer(*addr, *clients, *roomSize, *perWriter, *pool, *persist)
		return
	}
	r, err := run(*addr, *clients, *roomSize, *rate, *warmup, *duration)
	if *persist != "" {
		removeDatabase(*persist)
	}
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(r)
}

// run starts the server process, loads it and stops it.
func run(addr string, clients, roomSize int, rate float64, warmup, duration time.Duration) (result, error) {
	server := exec.Command(os.Args[0], append([]string{"--serve"}, os.Args[1:]...)...)
	server.Stdout, server.Stderr = os.Stderr, os.Stderr
	if err := server.Start(); err != nil {
		return result{}, err
	}
	defer func() {
		server.Process.Kill()
		server.Wait()
	}()
	if err := waitListening(addr); err != nil {
		return result{}, err
	}
	return runClients(addr, clients, roomSize, rate, warmup, duration, server.Process.Pid)
}

// conn is the server's end of one client, written by several goroutines.
type conn struct {
	mu sync.Mutex
	ws *websocket.Conn
}

func (c *conn) write(b []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.ws.Write(context.Background(), websocket.MessageBinary, b)
}

func runServer(addr string, clients, roomSize int, perWriter bool, writers int, persist string) {
	type job struct {
		c   *conn
		msg []byte
	}
	jobs := make(chan job, 4096)
	for range writers {
		go func() {
			for j := range jobs {
				j.c.write(j.msg)
			}
		}()
	}
	var mu sync.Mutex
	conns := make([]*conn, clients)
	ack := []byte{1}
	// deliver writes a message to the other members of sender's room and
	// acks it.
	deliver := func(sender int, msg []byte) {
		first := sender / roomSize * roomSize
		mu.Lock()
		room := slices.Clone(conns[first : first+roomSize])
		mu.Unlock()
		for j, m := range room {
			if first+j == sender || m == nil {
				continue
			}
			if writers > 0 {
				jobs <- job{m, msg}
			} else if perWriter {
				go m.write(msg)
			} else {
				m.write(msg)
			}
		}
		mu.Lock()
		self := conns[sender]
		mu.Unlock()
		self.write(ack)
	}
	take := deliver
	if persist != "" {
		w, err := openStore(persist)
		if err != nil {
			log.Fatal(err)
		}
		go w.run(roomSize, deliver)
		take = func(sender int, msg []byte) { w.in <- received{sender, msg} }
	}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		i, err := strconv.Atoi(r.URL.Query().Get("i"))
		if err != nil || i < 0 || i >= clients {
			http.Error(w, "bad client number", http.StatusBadRequest)
			return
		}
		ws, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		mu.Lock()
		conns[i] = &conn{ws: ws}
		mu.Unlock()
		go func() {
			for {
				_, msg, err := ws.Read(context.Background())
				if err != nil {
					return
				}
				take(i, msg)
			}
		}()
	})
	mux := http.NewServeMux()
	mux.Handle("/", h)
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	log.Fatal(http.ListenAndServe(addr, mux))
}

func waitListening(addr string) error {
	var err error
	for range 100 {
		var c net.Conn
		if c, err = net.Dial("tcp", addr); err == nil {
			return c.Close()
		}
		time.Sleep(50 * time.Millisecond)
	}
	return err
}

type result struct {
	deliveries         loadtest.Summary
	seconds            float64
	clientCPU, srvCPU  float64
	expected, received int64
}

func (r result) String() string {
	return fmt.Sprintf("deliveries %d of %d (%.0f/s)\nsend → delivery %s\nCPU while measuring: clients %.2f cores, server %.2f cores",
		r.received, r.expected, float64(r.received)/r.seconds, r.deliveries, r.clientCPU/r.seconds, r.srvCPU/r.seconds)
}

func runClients(addr string, clients, roomSize int, rate float64, warmup, duration time.Duration, serverPID int) (result, error) {
	runtime.GOMAXPROCS(1)
	conns := make([]*websocket.Conn, clients)
	for i := range conns {
		ws, _, err := websocket.Dial(context.Background(), fmt.Sprintf("ws://%s/?i=%d", addr, i), nil)
		if err != nil {
			return result{}, err
		}
		conns[i] = ws
	}
	var lat loadtest.Latencies
	var measuring atomic.Bool
	var sent, received atomic.Int64
	acks := make([]chan struct{}, clients)
	for i, ws := range conns {
		acks[i] = make(chan struct{}, 1)
		go func() {
			for {
				_, b, err := ws.Read(context.Background())
				if err != nil {
					return
				}
				if len(b) == 1 {
					acks[i] <- struct{}{}
					continue
				}
				at := int64(binary.LittleEndian.Uint64(b))
				if at > 0 {
					lat.Add(time.Duration(time.Now().UnixNano() - at))
					received.Add(1)
				}
			}
		}()
	}
	every := time.Duration(float64(clients) / rate * float64(time.Second))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	for i, ws := range conns {
		go func() {
			msg := make([]byte, 300)
			next := time.Now().Add(rand.N(every))
			for ctx.Err() == nil {
				time.Sleep(time.Until(next))
				next = next.Add(every)
				// Only messages sent while measuring carry their time:
				// the rest are not counted when they arrive.
				var at int64
				if measuring.Load() {
					at = time.Now().UnixNano()
					sent.Add(1)
				}
				binary.LittleEndian.PutUint64(msg, uint64(at))
				if err := ws.Write(context.Background(), websocket.MessageBinary, msg); err != nil {
					return
				}
				select {
				case <-acks[i]:
				case <-ctx.Done():
				}
			}
		}()
	}
	time.Sleep(warmup)
	self0 := loadtest.ReadSelf()
	srv0, err := loadtest.ReadProcess(serverPID)
	if err != nil {
		return result{}, err
	}
	measuring.Store(true)
	start := time.Now()
	time.Sleep(duration)
	measuring.Store(false)
	elapsed := time.Since(start)
	self1 := loadtest.ReadSelf()
	srv1, err := loadtest.ReadProcess(serverPID)
	if err != nil {
		return result{}, err
	}
	time.Sleep(time.Second) // the last deliveries
	return result{
		deliveries: lat.Summary(),
		seconds:    elapsed.Seconds(),
		clientCPU:  self1.CPUSeconds - self0.CPUSeconds,
		srvCPU:     srv1.CPUSeconds - srv0.CPUSeconds,
		expected:   sent.Load() * int64(roomSize-1),
		received:   received.Load(),
	}, nil
}

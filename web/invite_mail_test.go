package web

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"io"
	"math/big"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"net/textproto"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mapsync/mapsync/server"
)

// smtpServer is a tiny SMTP server for tests: it speaks just enough of RFC 5321 (EHLO,
// STARTTLS, AUTH PLAIN, MAIL, RCPT, DATA, QUIT) to take messages, and records them.
type smtpServer struct {
	ln       net.Listener
	tls      *tls.Config // offered through STARTTLS when not nil
	implicit bool        // TLS from the first byte
	refuse   string      // a reply to RCPT that refuses the recipient, when not ""

	mu    sync.Mutex
	mails []smtpMail
	wg    sync.WaitGroup
}

type smtpMail struct {
	auth, from, to string
	tls            bool
	data           string
}

func newSMTPServer(t *testing.T, cfg *tls.Config, implicit bool) *smtpServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if implicit {
		ln = tls.NewListener(ln, cfg)
	}
	s := &smtpServer{ln: ln, tls: cfg, implicit: implicit}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.wg.Add(1)
			go func() { defer s.wg.Done(); s.serve(c) }()
		}
	}()
	t.Cleanup(func() { ln.Close(); s.wg.Wait() })
	return s
}

func (s *smtpServer) port() int { return s.ln.Addr().(*net.TCPAddr).Port }

func (s *smtpServer) received() []smtpMail {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]smtpMail(nil), s.mails...)
}

func (s *smtpServer) serve(c net.Conn) {
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(20 * time.Second))
	tp := textproto.NewConn(c)
	m := smtpMail{tls: s.implicit}
	reply := func(line string) { _ = tp.PrintfLine("%s", line) }
	reply("220 test.invalid ESMTP")
	for {
		line, err := tp.ReadLine()
		if err != nil {
			return
		}
		verb, arg, _ := strings.Cut(line, " ")
		switch strings.ToUpper(verb) {
		case "EHLO", "HELO":
			exts := []string{"250-test.invalid", "250-8BITMIME"}
			if s.tls != nil && !m.tls {
				exts = append(exts, "250-STARTTLS")
			}
			exts = append(exts, "250 AUTH PLAIN")
			for _, e := range exts {
				reply(e)
			}
		case "STARTTLS":
			reply("220 go ahead")
			tc := tls.Server(c, s.tls)
			if err := tc.Handshake(); err != nil {
				return
			}
			c, tp, m.tls = tc, textproto.NewConn(tc), true
		case "AUTH":
			b, _ := base64.StdEncoding.DecodeString(strings.TrimPrefix(arg, "PLAIN "))
			m.auth = strings.ReplaceAll(string(b), "\x00", "|")
			reply("235 ok")
		case "MAIL":
			m.from = arg
			reply("250 ok")
		case "RCPT":
			s.mu.Lock()
			refuse := s.refuse
			s.mu.Unlock()
			if refuse != "" {
				reply(refuse)
				continue
			}
			m.to = arg
			reply("250 ok")
		case "DATA":
			reply("354 go ahead")
			b, err := io.ReadAll(tp.DotReader())
			if err != nil {
				return
			}
			m.data = string(b)
			s.mu.Lock()
			s.mails = append(s.mails, m)
			s.mu.Unlock()
			reply("250 queued")
		case "QUIT":
			reply("221 bye")
			return
		default:
			reply("502 not implemented")
		}
	}
}

// testCert is a self-signed certificate for 127.0.0.1, and a client config that trusts it.
func testCert(t *testing.T) (server, client *tls.Config) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tpl, tpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}},
		&tls.Config{RootCAs: pool, ServerName: "127.0.0.1"}
}

// body decodes a received message and returns its headers and text.
func body(t *testing.T, data string) (mail.Header, string) {
	t.Helper()
	msg, err := mail.ReadMessage(strings.NewReader(data))
	if err != nil {
		t.Fatalf("read message: %v\n%s", err, data)
	}
	b, err := io.ReadAll(quotedprintable.NewReader(msg.Body))
	if err != nil {
		t.Fatal(err)
	}
	return msg.Header, string(b)
}

func TestMailer(t *testing.T) {
	t.Parallel()
	link := "https://room.example.test/join/msi_AbC-123_xyz=?&"
	expires := time.Date(2027, 1, 15, 9, 30, 0, 0, time.UTC)
	to := server.Invitee{Name: "Alice Ämes\r\nBcc: eve@evil.test", Email: "alice@acme.test"}
	for _, mode := range []string{"none", "starttls", "implicit"} {
		t.Run(mode, func(t *testing.T) {
			t.Parallel()
			srvTLS, cliTLS := testCert(t)
			var srv *smtpServer
			if mode == "none" {
				srv = newSMTPServer(t, nil, false)
			} else {
				srv = newSMTPServer(t, srvTLS, mode == "implicit")
			}
			m, err := NewMailer(MailerOptions{Host: "127.0.0.1", Port: srv.port(), TLS: mode, Username: "deals", Password: "s3cret",
				From: "Acme Deals <deals@acme.example>", TLSConfig: cliTLS, Timeout: 10 * time.Second})
			if err != nil {
				t.Fatal(err)
			}
			if err := m.SendInvitation(t.Context(), to, "Acme \"expansion\" plan", "Sam Seller", link, expires); err != nil {
				t.Fatal(err)
			}
			got := srv.received()
			if len(got) != 1 {
				t.Fatalf("mails: got %d, want 1", len(got))
			}
			g := got[0]
			if !strings.HasPrefix(g.from, "FROM:<deals@acme.example>") || g.to != "TO:<alice@acme.test>" || g.auth != "|deals|s3cret" || g.tls != (mode != "none") {
				t.Errorf("envelope: from %q to %q auth %q tls %v", g.from, g.to, g.auth, g.tls)
			}
			h, text := body(t, g.data)
			subject, _ := new(mime.WordDecoder).DecodeHeader(h.Get("Subject"))
			toHdr, err := h.AddressList("To")
			if err != nil || len(toHdr) != 1 || toHdr[0].Address != "alice@acme.test" || toHdr[0].Name != "Alice Ämes Bcc: eve@evil.test" {
				t.Errorf("To: got %v (%v)", toHdr, err)
			}
			if h.Get("Bcc") != "" || subject != `Invitation: Acme "expansion" plan` || h.Get("Message-Id") == "" {
				t.Errorf("headers: Bcc %q, Subject %q, Message-ID %q", h.Get("Bcc"), subject, h.Get("Message-Id"))
			}
			for _, want := range []string{"Hello Alice Ämes Bcc: eve@evil.test,", "Sam Seller invited you", link, "15 January 2027 09:30 UTC"} {
				if !strings.Contains(text, want) {
					t.Errorf("body lacks %q:\n%s", want, text)
				}
			}
		})
	}

	t.Run("refusals", func(t *testing.T) {
		t.Parallel()
		srv := newSMTPServer(t, nil, false)
		// STARTTLS asked of a server that does not offer it: nothing is sent in plain text.
		m, err := NewMailer(MailerOptions{Host: "127.0.0.1", Port: srv.port(), TLS: "starttls", Username: "deals", Password: "s3cret", From: "deals@acme.example"})
		if err != nil {
			t.Fatal(err)
		}
		err = m.SendInvitation(t.Context(), to, "Plan", "Sam", link, expires)
		if err == nil || !strings.Contains(err.Error(), "STARTTLS") || strings.Contains(err.Error(), link) || len(srv.received()) != 0 {
			t.Errorf("no STARTTLS: got %v, %d mails; want an error naming STARTTLS, without the link, nothing sent", err, len(srv.received()))
		}
		srv.mu.Lock()
		srv.refuse = "550 no such mailbox"
		srv.mu.Unlock()
		m, _ = NewMailer(MailerOptions{Host: "127.0.0.1", Port: srv.port(), TLS: "none", From: "deals@acme.example"})
		if err := m.SendInvitation(t.Context(), to, "Plan", "Sam", link, expires); err == nil || !strings.Contains(err.Error(), "550") {
			t.Errorf("refused recipient: got %v, want the server's 550", err)
		}
		if err := m.SendInvitation(t.Context(), server.Invitee{Email: "not an address"}, "Plan", "Sam", link, expires); err == nil {
			t.Errorf("bad recipient: got no error")
		}
		// A server that never answers: the timeout ends the attempt.
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		go func() {
			c, err := ln.Accept()
			if err == nil {
				defer c.Close()
				_, _ = bufio.NewReader(c).ReadString('\n') // says nothing
			}
		}()
		m, _ = NewMailer(MailerOptions{Host: "127.0.0.1", Port: ln.Addr().(*net.TCPAddr).Port, TLS: "none", From: "deals@acme.example", Timeout: 300 * time.Millisecond})
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		defer cancel()
		if err := m.SendInvitation(ctx, to, "Plan", "Sam", link, expires); err == nil {
			t.Errorf("silent server: got no error")
		}
		for _, o := range []MailerOptions{{Host: "h", Port: 25, TLS: "ssl", From: "a@b.c"}, {Host: "h", Port: 25, TLS: "none", From: "nobody"}, {Port: 25, TLS: "none", From: "a@b.c"}} {
			if _, err := NewMailer(o); err == nil {
				t.Errorf("NewMailer(%+v): got no error", o)
			}
		}
	})
}

package web

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"net/smtp"
	"strconv"
	"strings"
	"time"

	"github.com/mapsync/mapsync/server"
)

// Mailer sends invitation links by mail through an SMTP server (net/smtp: the standard
// library's client does the protocol, STARTTLS and PLAIN auth; what is left here is the message).
// It implements server.InvitationMailer; `mapsync serve` builds it from the config's smtp
// section. It never logs, and its errors never contain the link.
type Mailer struct {
	o    MailerOptions
	from mail.Address
	now  func() time.Time
}

var _ server.InvitationMailer = (*Mailer)(nil)

// MailerOptions configures NewMailer.
type MailerOptions struct {
	// Host and Port are the mail server's.
	Host string
	Port int
	// TLS is "starttls" (upgrade the connection; a server that cannot is an error),
	// "implicit" (TLS from the first byte) or "none" (plain text: a relay on loopback).
	TLS string
	// Username and Password authenticate with PLAIN when Username is not "" (net/smtp sends
	// them only over TLS or to localhost).
	Username, Password string
	// From is the sender, "Name <address>" or an address.
	From string
	// TLSConfig is the TLS client configuration (nil: the system's roots, ServerName Host).
	TLSConfig *tls.Config
	// Timeout bounds one mail, from dial to QUIT (default 30s).
	Timeout time.Duration
	// Now is the clock of the Date header (default time.Now).
	Now func() time.Time
}

// NewMailer checks o and returns its Mailer.
func NewMailer(o MailerOptions) (*Mailer, error) {
	from, err := mail.ParseAddress(o.From)
	if err != nil {
		return nil, fmt.Errorf("mailer: from %q: %w", o.From, err)
	}
	switch o.TLS {
	case "starttls", "implicit", "none":
	default:
		return nil, fmt.Errorf("mailer: tls: want starttls, implicit or none, got %q", o.TLS)
	}
	if o.Host == "" || o.Port < 1 || o.Port > 65535 {
		return nil, fmt.Errorf("mailer: want a host and a port, got %q and %d", o.Host, o.Port)
	}
	if o.Timeout <= 0 {
		o.Timeout = 30 * time.Second
	}
	m := &Mailer{o: o, from: *from, now: o.Now}
	if m.now == nil {
		m.now = time.Now
	}
	return m, nil
}

// SendInvitation mails link to to: who invited them (inviter) to which plan, and until when the
// link works. It returns once the server accepted the message.
func (m *Mailer) SendInvitation(ctx context.Context, to server.Invitee, planName, inviter, link string, expires time.Time) error {
	rcpt, err := mail.ParseAddress(to.Email)
	if err != nil {
		return fmt.Errorf("mail invitation: recipient %q: %w", to.Email, err)
	}
	rcpt.Name = oneLine(to.Name)
	msg, err := invitationMessage(m.from, *rcpt, oneLine(planName), oneLine(inviter), link, expires, m.now())
	if err != nil {
		return fmt.Errorf("mail invitation: %w", err)
	}
	if err := m.send(ctx, rcpt.Address, msg); err != nil {
		return fmt.Errorf("mail invitation to %s via %s: %w", rcpt.Address, net.JoinHostPort(m.o.Host, strconv.Itoa(m.o.Port)), err)
	}
	return nil
}

// oneLine keeps header text on one line: a CR or LF from a CRM field cannot add a header.
func oneLine(s string) string {
	return strings.Join(strings.Fields(strings.NewReplacer("\r", " ", "\n", " ").Replace(s)), " ")
}

// invitationMessage is the whole message: headers, and a quoted-printable UTF-8 text body.
func invitationMessage(from, to mail.Address, planName, inviter, link string, expires, now time.Time) ([]byte, error) {
	var id [12]byte
	if _, err := rand.Read(id[:]); err != nil {
		return nil, err
	}
	domain := from.Address[strings.LastIndexByte(from.Address, '@')+1:]
	var b bytes.Buffer
	header := func(k, v string) { fmt.Fprintf(&b, "%s: %s\r\n", k, v) }
	header("From", from.String())
	header("To", to.String())
	header("Subject", mime.QEncoding.Encode("utf-8", "Invitation: "+planName))
	header("Date", now.UTC().Format(time.RFC1123Z))
	header("Message-ID", "<"+hex.EncodeToString(id[:])+"@"+domain+">")
	header("MIME-Version", "1.0")
	header("Content-Type", `text/plain; charset="utf-8"`)
	header("Content-Transfer-Encoding", "quoted-printable")
	b.WriteString("\r\n")
	greeting := "Hello,"
	if to.Name != "" {
		greeting = "Hello " + to.Name + ","
	}
	who := "You are"
	if inviter != "" {
		who = inviter + " invited you"
	} else {
		who += " invited"
	}
	body := fmt.Sprintf("%s\r\n\r\n%s to work on \"%s\" together, in its mutual action plan.\r\n\r\n"+
		"Join the room:\r\n%s\r\n\r\nThe link is personal: what you do in the room is recorded as you. "+
		"It works until %s.\r\n", greeting, who, planName, link, expires.UTC().Format("2 January 2006 15:04 UTC"))
	qp := quotedprintable.NewWriter(&b)
	if _, err := qp.Write([]byte(body)); err != nil {
		return nil, err
	}
	if err := qp.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// send delivers msg to rcpt: dial (TLS for implicit), STARTTLS when asked, AUTH, MAIL, RCPT,
// DATA, QUIT, all within the timeout and ctx.
func (m *Mailer) send(ctx context.Context, rcpt string, msg []byte) error {
	ctx, cancel := context.WithTimeout(ctx, m.o.Timeout)
	defer cancel()
	addr := net.JoinHostPort(m.o.Host, strconv.Itoa(m.o.Port))
	cfg := m.o.TLSConfig
	if cfg == nil {
		cfg = &tls.Config{ServerName: m.o.Host, MinVersion: tls.VersionTLS12}
	}
	dialer := &net.Dialer{}
	var (
		conn net.Conn
		err  error
	)
	if m.o.TLS == "implicit" {
		conn, err = (&tls.Dialer{NetDialer: dialer, Config: cfg}).DialContext(ctx, "tcp", addr)
	} else {
		conn, err = dialer.DialContext(ctx, "tcp", addr)
	}
	if err != nil {
		return err
	}
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { conn.Close() }) // cancel a stalled conversation
	defer stop()
	c, err := smtp.NewClient(conn, m.o.Host)
	if err != nil {
		conn.Close()
		return err
	}
	defer c.Close()
	if m.o.TLS == "starttls" {
		if ok, _ := c.Extension("STARTTLS"); !ok {
			return errors.New("the server does not offer STARTTLS (set smtp.tls: implicit for port 465, or none for a relay on loopback)")
		}
		if err := c.StartTLS(cfg); err != nil {
			return fmt.Errorf("starttls: %w", err)
		}
	}
	if m.o.Username != "" {
		if err := c.Auth(smtp.PlainAuth("", m.o.Username, m.o.Password, m.o.Host)); err != nil {
			return fmt.Errorf("auth: %w", err)
		}
	}
	if err := c.Mail(m.from.Address); err != nil {
		return fmt.Errorf("mail from: %w", err)
	}
	if err := c.Rcpt(rcpt); err != nil {
		return fmt.Errorf("rcpt to: %w", err)
	}
	w, err := c.Data()
	if err != nil {
		return fmt.Errorf("data: %w", err)
	}
	if _, err := w.Write(msg); err != nil {
		return fmt.Errorf("data: %w", err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("data: %w", err)
	}
	return c.Quit()
}

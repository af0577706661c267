package salesforce

import (
	"bytes"
	"context"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Outbound messages (A10): when a write matches a configured rule, a notification is queued and
// POSTed to the listener as the SOAP envelope Salesforce sends, up to 100 per message, with the
// record's data as of sending. A delivery that is not acknowledged with <Ack>true</Ack> is retried
// with exponentially growing pauses (capped at RetryMax) until MaxAge, then dropped: at-least-once,
// so listeners see duplicates.

// Outbound rules.
const (
	RuleStageChanged = "stage_changed" // an update changes StageName
	RuleFieldChanged = "field_changed" // an update changes Field
	RuleCreated      = "created"       // a record is created
	RuleAnyChange    = "any_change"    // a record is created or updated
)

// OutboundConfig configures one outbound message (a workflow rule with its action).
type OutboundConfig struct {
	// ListenerURL receives the SOAP POSTs.
	ListenerURL string `json:"listenerUrl"`
	// Object is the sObject watched; empty means Opportunity.
	Object string `json:"object,omitempty"`
	// Rule is one of the Rule constants; empty means RuleStageChanged.
	Rule string `json:"rule,omitempty"`
	// Field is the field RuleFieldChanged watches.
	Field string `json:"field,omitempty"`
	// Fields are sent in each sObject; empty means Id, Name, StageName, Amount, CloseDate,
	// OwnerId, LastModifiedDate and SystemModstamp (those the object has).
	Fields []string `json:"fields,omitempty"`
	// InstanceURL is the base of EnterpriseUrl and PartnerUrl in the envelope; the control API
	// fills in the sandbox's own address.
	InstanceURL string `json:"instanceUrl,omitempty"`
	// RetryInitial is the first pause after a failed delivery (default 15s); RetryMax caps the
	// doubling pauses (default 2h); MaxAge drops notifications older than this on the sandbox
	// clock (default 24h).
	RetryInitial, RetryMax, MaxAge time.Duration `json:"-"`
	// Timeout bounds one delivery (default 10s).
	Timeout time.Duration `json:"-"`
}

// OutboundStat reports one configured outbound message.
type OutboundStat struct {
	ActionID    string `json:"actionId"`
	ListenerURL string `json:"listenerUrl"`
	Rule        string `json:"rule"`
	Queued      int    `json:"queued"`
	Delivered   int    `json:"delivered"`
	Attempts    int    `json:"attempts"`
	Failures    int    `json:"failures"`
	Dropped     int    `json:"dropped"`
	LastError   string `json:"lastError,omitempty"`
}

type notification struct {
	id       string
	recordID string
	queued   int64 // sandbox clock, ms
}

type outMessage struct {
	cfg    OutboundConfig
	obj    *object
	fields []*fieldDef
	watch  *fieldDef
	stat   OutboundStat
	queue  []notification
	wake   chan struct{}
}

type outbound struct {
	s      *Sandbox
	mu     sync.Mutex
	msgs   []*outMessage
	seq    uint64
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	client *http.Client
}

func newOutbound(s *Sandbox) *outbound {
	ctx, cancel := context.WithCancel(context.Background())
	return &outbound{s: s, ctx: ctx, cancel: cancel, client: &http.Client{}}
}

func (ob *outbound) close() {
	ob.cancel()
	ob.wg.Wait()
}

// ConfigureOutbound adds an outbound message and starts its delivery; it returns the action id.
func (s *Sandbox) ConfigureOutbound(c OutboundConfig) (string, error) {
	u, err := url.Parse(c.ListenerURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("%w: listenerUrl %q is not an http(s) URL", ErrInvalid, c.ListenerURL)
	}
	if c.Object == "" {
		c.Object = "Opportunity"
	}
	o, err := s.objectByName(c.Object)
	if err != nil {
		return "", err
	}
	if c.Rule == "" {
		c.Rule = RuleStageChanged
	}
	m := &outMessage{cfg: c, obj: o, wake: make(chan struct{}, 1)}
	switch c.Rule {
	case RuleStageChanged:
		if m.watch = o.field("StageName"); m.watch == nil {
			return "", fmt.Errorf("%w: %s has no StageName", ErrInvalid, o.name)
		}
	case RuleFieldChanged:
		if m.watch = o.field(c.Field); m.watch == nil {
			return "", fmt.Errorf("%w: %s has no field %q", ErrInvalid, o.name, c.Field)
		}
	case RuleCreated, RuleAnyChange:
	default:
		return "", fmt.Errorf("%w: unknown rule %q", ErrInvalid, c.Rule)
	}
	names := c.Fields
	if len(names) == 0 {
		names = []string{"Id", "Name", "StageName", "Amount", "CloseDate", "OwnerId", "LastModifiedDate", "SystemModstamp"}
	}
	for _, n := range names {
		f := o.field(n)
		if f == nil {
			if len(c.Fields) == 0 {
				continue
			}
			return "", fmt.Errorf("%w: %s has no field %q", ErrInvalid, o.name, n)
		}
		m.fields = append(m.fields, f)
	}
	m.cfg.RetryInitial = cmpOr(c.RetryInitial, 15*time.Second)
	m.cfg.RetryMax = cmpOr(c.RetryMax, 2*time.Hour)
	m.cfg.MaxAge = cmpOr(c.MaxAge, 24*time.Hour)
	m.cfg.Timeout = cmpOr(c.Timeout, 10*time.Second)
	m.cfg.InstanceURL = strings.TrimRight(cmpOr(c.InstanceURL, "http://localhost"), "/")
	ob := s.out
	ob.mu.Lock()
	ob.seq++
	m.stat = OutboundStat{ActionID: makeID(prefixAction, 7_000_000+ob.seq), ListenerURL: c.ListenerURL, Rule: c.Rule}
	ob.msgs = append(ob.msgs, m)
	ob.mu.Unlock()
	ob.wg.Add(1)
	go ob.deliver(m)
	return m.stat.ActionID, nil
}

func cmpOr[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

// StopOutbound removes every outbound message; queued notifications are dropped.
func (s *Sandbox) StopOutbound() {
	ob := s.out
	ob.mu.Lock()
	defer ob.mu.Unlock()
	for _, m := range ob.msgs {
		select {
		case m.wake <- struct{}{}:
		default:
		}
	}
	ob.msgs = nil
}

// OutboundStats reports every configured outbound message.
func (s *Sandbox) OutboundStats() []OutboundStat {
	ob := s.out
	ob.mu.Lock()
	defer ob.mu.Unlock()
	out := make([]OutboundStat, 0, len(ob.msgs))
	for _, m := range ob.msgs {
		st := m.stat
		st.Queued = len(m.queue)
		out = append(out, st)
	}
	return out
}

// notify queues notifications for a write; old is nil for a create. Callers hold s.mu for
// writing; notify only takes the outbound lock.
func (ob *outbound) notify(o *object, r *record, old []value, created bool) {
	ob.mu.Lock()
	defer ob.mu.Unlock()
	if len(ob.msgs) == 0 || r.deleted {
		return
	}
	for _, m := range ob.msgs {
		if m.obj != o {
			continue
		}
		fire := false
		switch m.cfg.Rule {
		case RuleStageChanged, RuleFieldChanged:
			fire = !created && old != nil && old[m.watch.idx] != r.vals[m.watch.idx]
		case RuleCreated:
			fire = created
		case RuleAnyChange:
			fire = true
		}
		if !fire {
			continue
		}
		ob.seq++
		m.queue = append(m.queue, notification{id: makeID(prefixNotify, 9_000_000+ob.seq), recordID: r.id, queued: ob.s.now().UnixMilli()})
		select {
		case m.wake <- struct{}{}:
		default:
		}
	}
}

var ackRe = regexp.MustCompile(`<(?:[A-Za-z0-9_]+:)?Ack>\s*true\s*</(?:[A-Za-z0-9_]+:)?Ack>`)

// deliver is the delivery loop of one outbound message.
func (ob *outbound) deliver(m *outMessage) {
	defer ob.wg.Done()
	pause := m.cfg.RetryInitial
	for {
		ob.mu.Lock()
		live := false
		for _, x := range ob.msgs {
			live = live || x == m
		}
		// Drop what is too old to deliver.
		cut := ob.s.now().UnixMilli() - m.cfg.MaxAge.Milliseconds()
		kept := m.queue[:0]
		for _, n := range m.queue {
			if n.queued < cut {
				m.stat.Dropped++
				continue
			}
			kept = append(kept, n)
		}
		m.queue = kept
		batch := append([]notification(nil), m.queue[:min(len(m.queue), 100)]...)
		ob.mu.Unlock()
		if !live {
			return
		}
		if len(batch) == 0 {
			select {
			case <-ob.ctx.Done():
				return
			case <-m.wake:
				continue
			}
		}
		err := ob.post(m, batch)
		ob.mu.Lock()
		m.stat.Attempts++
		if err == nil {
			sent := map[string]bool{}
			for _, n := range batch {
				sent[n.id] = true
			}
			kept := m.queue[:0]
			for _, n := range m.queue {
				if !sent[n.id] {
					kept = append(kept, n)
				}
			}
			m.queue = kept
			m.stat.Delivered += len(batch)
			m.stat.LastError = ""
		} else {
			m.stat.Failures++
			m.stat.LastError = err.Error()
		}
		ob.mu.Unlock()
		if err == nil {
			pause = m.cfg.RetryInitial
			continue
		}
		ob.s.log.Warn().Err(err).Str("action_id", m.stat.ActionID).Dur("retry_in", pause).Msg("outbound message not acknowledged")
		t := time.NewTimer(pause)
		select {
		case <-ob.ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		pause = min(pause*2, m.cfg.RetryMax)
	}
}

func (ob *outbound) post(m *outMessage, batch []notification) error {
	body := ob.envelope(m, batch)
	ctx, cancel := context.WithTimeout(ob.ctx, m.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, m.cfg.ListenerURL, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("build request: %w", err)
	}
	req.Header.Set("Content-Type", "text/xml; charset=utf-8")
	req.Header.Set("SOAPAction", `""`)
	req.Header.Set("User-Agent", "Jakarta Commons-HttpClient/3.1")
	resp, err := ob.client.Do(req)
	if err != nil {
		return fmt.Errorf("post notifications: %w", err)
	}
	defer resp.Body.Close()
	reply, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("listener answered %d", resp.StatusCode)
	}
	if !ackRe.Match(reply) {
		return fmt.Errorf("listener did not acknowledge with <Ack>true</Ack>")
	}
	return nil
}

// envelope renders the SOAP notification with the records' current data.
func (ob *outbound) envelope(m *outMessage, batch []notification) []byte {
	s := ob.s
	var b bytes.Buffer
	org15 := s.orgID[:15]
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n")
	b.WriteString(`<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">` + "\n")
	b.WriteString(" <soapenv:Body>\n")
	b.WriteString(`  <notifications xmlns="http://soap.sforce.com/2005/09/outbound">` + "\n")
	fmt.Fprintf(&b, "   <OrganizationId>%s</OrganizationId>\n", s.orgID)
	fmt.Fprintf(&b, "   <ActionId>%s</ActionId>\n", m.stat.ActionID)
	b.WriteString(`   <SessionId xsi:nil="true"/>` + "\n")
	fmt.Fprintf(&b, "   <EnterpriseUrl>%s/services/Soap/c/62.0/%s</EnterpriseUrl>\n", xmlText(m.cfg.InstanceURL), org15)
	fmt.Fprintf(&b, "   <PartnerUrl>%s/services/Soap/u/62.0/%s</PartnerUrl>\n", xmlText(m.cfg.InstanceURL), org15)
	s.mu.RLock()
	for _, n := range batch {
		r := m.obj.byID[n.recordID]
		if r == nil {
			continue
		}
		b.WriteString("   <Notification>\n")
		fmt.Fprintf(&b, "    <Id>%s</Id>\n", n.id)
		fmt.Fprintf(&b, `    <sObject xsi:type="sf:%s" xmlns:sf="urn:sobject.enterprise.soap.sforce.com">`+"\n", m.obj.name)
		for _, f := range m.fields {
			v := r.vals[f.idx]
			if v.null() {
				continue
			}
			fmt.Fprintf(&b, "     <sf:%s>%s</sf:%s>\n", f.Name, xmlText(soapValue(f, v)), f.Name)
		}
		b.WriteString("    </sObject>\n")
		b.WriteString("   </Notification>\n")
	}
	s.mu.RUnlock()
	b.WriteString("  </notifications>\n")
	b.WriteString(" </soapenv:Body>\n")
	b.WriteString("</soapenv:Envelope>\n")
	return b.Bytes()
}

func soapValue(f *fieldDef, v value) string {
	switch v.k {
	case kText:
		return v.s
	case kBool:
		return strconv.FormatBool(v.n != 0)
	case kNum:
		return string(appendValue(nil, f, v))
	case kTime:
		if f.Type == "date" {
			return string(appendDate(nil, v.ms()))
		}
		return time.UnixMilli(v.ms()).UTC().Format("2006-01-02T15:04:05.000Z")
	}
	return ""
}

func xmlText(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}

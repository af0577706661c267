package server

import (
	"strconv"
	"strings"
	"testing"
	"time"
)

func FuzzParseOutboundMessage(f *testing.F) {
	for _, seed := range []string{
		`<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body><notifications xmlns="http://soap.sforce.com/2005/09/outbound"><OrganizationId>00D000000000001AAA</OrganizationId><ActionId>04k000000000001</ActionId><SessionId xsi:nil="true"/><Notification><Id>04l000000000001</Id><sObject xsi:type="sf:Opportunity" xmlns:sf="urn:sobject.enterprise.soap.sforce.com"><sf:Id>006000000000001AAA</sf:Id><sf:StageName>Closed Won</sf:StageName></sObject></Notification></notifications></soapenv:Body></soapenv:Envelope>`,
		`<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body/></soapenv:Envelope>`,
		`<!DOCTYPE x [<!ENTITY a "aaaa">]><x>&a;</x>`,
		`<a>`, ``,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		m, err := ParseOutboundMessage(body)
		if err != nil {
			return
		}
		if m.OrganizationID == "" || len(m.Notifications) == 0 || len(m.Notifications) > 100 {
			t.Fatalf("accepted %+v", m)
		}
		for _, n := range m.Notifications {
			if n.ID == "" || n.RecordID == "" || n.Type == "" || strings.Contains(n.Type, ":") {
				t.Fatalf("accepted notification %+v", n)
			}
		}
	})
}

// FuzzVerifyStandardWebhook: a request signed with the key verifies whatever the id, body and
// extra signatures around it; the same request with one byte of the body changed never does.
func FuzzVerifyStandardWebhook(f *testing.F) {
	f.Add("msg_2KWPBgLlAfxdpx2AI54pPJ85f4W", []byte(`{"object":"deal","id":"1"}`), "v1,AAAA v1a,BBBB", byte(1))
	f.Add("", []byte{}, "", byte(0))
	f.Add("id with spaces", []byte("x"), "v1,not-base64!", byte(255))
	key := []byte("0123456789abcdef0123456789abcdef")
	now := time.Unix(1_800_000_000, 0)
	ts := strconv.FormatInt(now.Unix(), 10)
	f.Fuzz(func(t *testing.T, id string, body []byte, extra string, flip byte) {
		sig := SignStandardWebhook(key, id, ts, body)
		header := strings.TrimSpace(extra + " " + sig)
		err := VerifyStandardWebhook([][]byte{key}, id, ts, header, body, now, 5*time.Minute)
		wantOK := id != "" && len(id) <= 256
		if wantOK && err != nil {
			t.Fatalf("signed request refused: %v", err)
		}
		if !wantOK && err == nil {
			t.Fatalf("request with id %q accepted", id)
		}
		// Parse arbitrary header text without a valid signature: never accepted.
		if err := VerifyStandardWebhook([][]byte{key}, id, ts, extra, body, now, 5*time.Minute); err == nil && !strings.Contains(extra, sig[3:]) {
			t.Fatalf("unsigned request accepted with signature header %q", extra)
		}
		if len(body) > 0 && wantOK {
			changed := append([]byte(nil), body...)
			changed[int(flip)%len(changed)] ^= 0x01
			if err := VerifyStandardWebhook([][]byte{key}, id, ts, header, changed, now, 5*time.Minute); err == nil && !strings.Contains(extra, "v1,") {
				t.Fatal("changed body accepted")
			}
		}
	})
}

// FuzzVerifyHubSpotV3 checks the header parsing: arbitrary timestamp and signature headers never
// pass unless they are the request's true signature.
func FuzzVerifyHubSpotV3(f *testing.F) {
	f.Add("1800000000000", "AAAA", []byte(`[]`))
	f.Add("", "", []byte(nil))
	f.Add("-1", "////", []byte("x"))
	now := time.UnixMilli(1_800_000_000_000)
	f.Fuzz(func(t *testing.T, ts, sig string, body []byte) {
		err := VerifyHubSpotV3("secret", "POST", []string{"https://example.com/webhooks/hubspot/hs"}, body, ts, sig, now, 5*time.Minute)
		if err == nil {
			// Only the true signature may pass: recompute and compare.
			if err2 := VerifyHubSpotV3("other-secret", "POST", []string{"https://example.com/webhooks/hubspot/hs"}, body, ts, sig, now, 5*time.Minute); err2 == nil {
				t.Fatalf("signature %q verifies under two secrets", sig)
			}
		}
	})
}

package server

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/mapsync/mapsync/store"
)

// OutboundMessage is a Salesforce outbound message (a SOAP notifications request).
type OutboundMessage struct {
	OrganizationID string
	ActionID       string
	Notifications  []OutboundNotification
}

// OutboundNotification is one notification of an outbound message.
type OutboundNotification struct {
	// ID is the notification's id: the same on every redelivery.
	ID string
	// Type is the sObject type (Opportunity, Contact, ...).
	Type string
	// RecordID is the sObject's Id.
	RecordID string
	// Raw is the notification's XML, for audit.
	Raw string
}

type soapEnvelope struct {
	XMLName xml.Name `xml:"http://schemas.xmlsoap.org/soap/envelope/ Envelope"`
	Body    struct {
		Notifications *struct {
			OrganizationID string `xml:"OrganizationId"`
			ActionID       string `xml:"ActionId"`
			Notification   []struct {
				ID      string `xml:"Id"`
				SObject struct {
					Type string `xml:"http://www.w3.org/2001/XMLSchema-instance type,attr"`
					ID   string `xml:"Id"`
				} `xml:"sObject"`
				Inner string `xml:",innerxml"`
			} `xml:"Notification"`
		} `xml:"http://soap.sforce.com/2005/09/outbound notifications"`
	} `xml:"http://schemas.xmlsoap.org/soap/envelope/ Body"`
}

// ParseOutboundMessage decodes a Salesforce outbound message: a SOAP envelope whose body holds
// notifications (namespace http://soap.sforce.com/2005/09/outbound) with the OrganizationId and
// up to 100 Notification elements, each with its Id and an sObject with its type and Id.
func ParseOutboundMessage(body []byte) (*OutboundMessage, error) {
	var env soapEnvelope
	dec := xml.NewDecoder(bytes.NewReader(body))
	dec.Strict = true
	if err := dec.Decode(&env); err != nil {
		return nil, fmt.Errorf("body is not a SOAP envelope: %w", err)
	}
	n := env.Body.Notifications
	if n == nil {
		return nil, errors.New("SOAP body holds no notifications element (namespace http://soap.sforce.com/2005/09/outbound)")
	}
	m := &OutboundMessage{OrganizationID: strings.TrimSpace(n.OrganizationID), ActionID: strings.TrimSpace(n.ActionID)}
	if m.OrganizationID == "" {
		return nil, errors.New("notifications has no OrganizationId")
	}
	if len(n.Notification) == 0 {
		return nil, errors.New("notifications holds no Notification")
	}
	if len(n.Notification) > 100 {
		return nil, fmt.Errorf("notifications holds %d Notification elements: Salesforce sends at most 100", len(n.Notification))
	}
	for i, x := range n.Notification {
		id, rid := strings.TrimSpace(x.ID), strings.TrimSpace(x.SObject.ID)
		typ := x.SObject.Type
		if _, after, ok := strings.Cut(typ, ":"); ok {
			typ = after
		}
		switch {
		case id == "":
			return nil, fmt.Errorf("notification [%d] has no Id", i)
		case rid == "":
			return nil, fmt.Errorf("notification [%d] (%s): its sObject has no Id", i, id)
		case typ == "":
			return nil, fmt.Errorf("notification [%d] (%s): its sObject has no xsi:type", i, id)
		case len(id) > 64 || len(rid) > 64:
			return nil, fmt.Errorf("notification [%d]: an Id is over 64 characters", i)
		}
		m.Notifications = append(m.Notifications, OutboundNotification{ID: id, Type: typ, RecordID: rid, Raw: "<Notification>" + x.Inner + "</Notification>"})
	}
	return m, nil
}

// sameOrg compares Salesforce org ids by their case-sensitive 15-character form.
func sameOrg(a, b string) bool {
	if len(a) < 15 || len(b) < 15 {
		return false
	}
	return a[:15] == b[:15]
}

// sfObjects maps sObject types to the objects we store.
var sfObjects = map[string]string{"Opportunity": "deal", "Contact": "contact"}

const soapAck = `<?xml version="1.0" encoding="UTF-8"?>
<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/">
 <soapenv:Body>
  <notificationsResponse xmlns="http://soap.sforce.com/2005/09/outbound">
   <Ack>true</Ack>
  </notificationsResponse>
 </soapenv:Body>
</soapenv:Envelope>
`

// salesforce receives POST /webhooks/salesforce/{connection}: an outbound message, accepted when
// its OrganizationId is the connection's (Salesforce does not sign them), each notification
// stored (redeliveries recognised by the notification id), then acknowledged with the
// notificationsResponse envelope (without which Salesforce resends for 24 hours).
func (h *Webhooks) salesforce(w http.ResponseWriter, r *http.Request) {
	const source = store.WebhookSalesforce
	c, body, ok := h.receive(w, r, source, "salesforce", func(c *WebhookConnection) bool { return c.OrganizationID != "" }, "organization_id")
	if !ok {
		return
	}
	msg, err := ParseOutboundMessage(body)
	if err != nil {
		h.fail(w, r, source, malformed("%v", err))
		return
	}
	if !sameOrg(msg.OrganizationID, c.OrganizationID) {
		h.fail(w, r, source, badSignature("OrganizationId %s is not the connection's organization", msg.OrganizationID))
		return
	}
	batch := make([]store.NewWebhookEvent, len(msg.Notifications))
	for i, n := range msg.Notifications {
		obj, ok := sfObjects[n.Type]
		if !ok {
			obj = n.Type
		}
		batch[i] = store.NewWebhookEvent{ConnectionID: c.ID, Source: source, Key: n.ID, Type: n.Type, Object: obj, CRMID: n.RecordID, Payload: n.Raw}
	}
	if _, err := h.save(r.Context(), source, batch); err != nil {
		h.fail(w, r, source, err)
		return
	}
	h.accepted(source)
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write([]byte(soapAck))
}

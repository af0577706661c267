package inbox

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// HubSpotEvent is one event of a HubSpot webhook request (a JSON array of up to 100), as far as
// processing reads it.
type HubSpotEvent struct {
	EventID          int64  `json:"eventId"`
	SubscriptionID   int64  `json:"subscriptionId"`
	PortalID         int64  `json:"portalId"`
	OccurredAt       int64  `json:"occurredAt"`
	SubscriptionType string `json:"subscriptionType"`
	ObjectID         int64  `json:"objectId"`
	ChangeFlag       string `json:"changeFlag"`
	PropertyName     string `json:"propertyName"`
	// Association changes.
	AssociationType    string `json:"associationType"`
	FromObjectID       int64  `json:"fromObjectId"`
	ToObjectID         int64  `json:"toObjectId"`
	AssociationRemoved bool   `json:"associationRemoved"`
	// Merges.
	PrimaryObjectID int64   `json:"primaryObjectId"`
	MergedObjectIDs []int64 `json:"mergedObjectIds"`
	NewObjectID     int64   `json:"newObjectId"`
}

// MaxHubSpotEvents is the most events HubSpot sends in one request.
const MaxHubSpotEvents = 100

// ParseHubSpotEvent decodes one event and checks what processing needs: an eventId, a
// subscriptionType of the form object.change, and the id of the object it is about.
func ParseHubSpotEvent(raw []byte) (*HubSpotEvent, error) {
	var e HubSpotEvent
	if err := json.Unmarshal(raw, &e); err != nil {
		return nil, fmt.Errorf("not a HubSpot event: %w", err)
	}
	if e.EventID <= 0 {
		return nil, errors.New("eventId is missing or not a positive integer")
	}
	obj, change, ok := strings.Cut(e.SubscriptionType, ".")
	if !ok || obj == "" || change == "" {
		return nil, fmt.Errorf("subscriptionType %q is not of the form object.change", e.SubscriptionType)
	}
	if e.Subject() == "" {
		return nil, fmt.Errorf("event %d (%s) names no object id", e.EventID, e.SubscriptionType)
	}
	return &e, nil
}

// ParseHubSpotEvents decodes a HubSpot webhook request body: a JSON array of 1 to 100 events.
// It returns each event with its own JSON (stored for audit). Errors say what is wrong and where.
func ParseHubSpotEvents(body []byte) ([]*HubSpotEvent, []json.RawMessage, error) {
	var raws []json.RawMessage
	if err := json.Unmarshal(body, &raws); err != nil {
		return nil, nil, fmt.Errorf("body is not a JSON array of events: %w", err)
	}
	if len(raws) == 0 {
		return nil, nil, errors.New("body is an empty array: want 1 to 100 events")
	}
	if len(raws) > MaxHubSpotEvents {
		return nil, nil, fmt.Errorf("body has %d events: HubSpot sends at most %d", len(raws), MaxHubSpotEvents)
	}
	events := make([]*HubSpotEvent, len(raws))
	for i, raw := range raws {
		e, err := ParseHubSpotEvent(raw)
		if err != nil {
			return nil, nil, fmt.Errorf("event [%d]: %w", i, err)
		}
		events[i] = e
	}
	return events, raws, nil
}

// Object is the kind of object the event is about: the part of subscriptionType before the dot
// (deal, contact, company, ...).
func (e *HubSpotEvent) Object() string {
	obj, _, _ := strings.Cut(e.SubscriptionType, ".")
	return obj
}

// Change is the part of subscriptionType after the dot (creation, propertyChange, deletion,
// associationChange, merge, restore, privacyDeletion).
func (e *HubSpotEvent) Change() string {
	_, change, _ := strings.Cut(e.SubscriptionType, ".")
	return change
}

// Subject is the id of the object the event is about: objectId, else (association changes) the
// fromObjectId, else (merges) the primary object; "" if none.
func (e *HubSpotEvent) Subject() string {
	for _, id := range []int64{e.ObjectID, e.FromObjectID, e.PrimaryObjectID, e.NewObjectID} {
		if id > 0 {
			return strconv.FormatInt(id, 10)
		}
	}
	return ""
}

// Key identifies the event for dedupe: HubSpot redelivers an event with the same eventId, but
// does not promise eventIds unique across subscriptions and objects, so the key holds all three.
func (e *HubSpotEvent) Key() string {
	return fmt.Sprintf("%d/%d/%s", e.EventID, e.SubscriptionID, e.Subject())
}

// GenericEvent is the body of a generic webhook: which record changed.
type GenericEvent struct {
	// Object is deal or contact.
	Object string `json:"object"`
	// ID is the record's CRM id.
	ID string `json:"id"`
}

// ParseGenericEvent decodes a generic webhook body, {"object": "deal", "id": "..."}; other
// members are allowed and ignored.
func ParseGenericEvent(body []byte) (*GenericEvent, error) {
	var e GenericEvent
	if err := json.Unmarshal(body, &e); err != nil {
		return nil, fmt.Errorf(`body is not a JSON object {"object": "deal", "id": "..."}: %w`, err)
	}
	switch e.Object {
	case "deal", "contact":
	case "":
		return nil, errors.New(`"object" is required: deal or contact`)
	default:
		return nil, fmt.Errorf(`"object" must be deal or contact, got %q`, e.Object)
	}
	e.ID = strings.TrimSpace(e.ID)
	if e.ID == "" {
		return nil, errors.New(`"id" is required: the record's CRM id`)
	}
	if len(e.ID) > 64 {
		return nil, fmt.Errorf(`"id" is %d characters: a CRM id has at most 64`, len(e.ID))
	}
	return &e, nil
}

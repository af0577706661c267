package plans

import (
	"net/url"
	"slices"
	"strings"
)

// AddAttachment adds a link to the action actionID, or to the plan itself when actionID is "".
// The URL must be absolute http or https; the kind defaults to link. Buyers cannot add internal
// attachments.
func (p *Plan) AddAttachment(c Change, actionID string, at Attachment) (Attachment, []Event, error) {
	if err := p.active(); err != nil {
		return Attachment{}, nil, err
	}
	var a *Action
	if actionID != "" {
		var err error
		if a, err = p.findAction(c.By, actionID); err != nil {
			return Attachment{}, nil, err
		}
	}
	at.Name = strings.TrimSpace(at.Name)
	if at.Name == "" {
		return Attachment{}, nil, invalid("name", "required")
	}
	if err := checkLength("name", at.Name, MaxName); err != nil {
		return Attachment{}, nil, err
	}
	if err := checkLength("url", at.URL, MaxURL); err != nil {
		return Attachment{}, nil, err
	}
	have, where := len(p.Attachments), "attachments on the plan"
	if a != nil {
		have, where = len(a.Attachments), "attachments on this action"
	}
	if err := checkCount("url", where, have, MaxAttachments); err != nil {
		return Attachment{}, nil, err
	}
	u, err := url.Parse(at.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return Attachment{}, nil, invalid("url", "want an absolute http(s) URL, got %q", at.URL)
	}
	if at.Kind == "" {
		at.Kind = KindLink
	}
	if !slices.Contains(AttachmentKinds, at.Kind) {
		return Attachment{}, nil, invalid("kind", "unknown kind %q (want one of %s)", at.Kind, listOf(AttachmentKinds))
	}
	if at.Internal && c.By.Side == SideBuyer {
		return Attachment{}, nil, invalid("internal", "buyers cannot add internal attachments")
	}
	at.ID, at.AddedBy, at.AddedAt = c.id(), c.By, c.At
	r := &recorder{p: p, c: c}
	if a != nil {
		a.Attachments = append(a.Attachments, at)
		r.touch(a)
	} else {
		p.Attachments = append(p.Attachments, at)
	}
	e := r.add(EventAttachmentAdded, a, nil, at)
	e.Internal = e.Internal || at.Internal
	return at, r.done(), nil
}

// RemoveAttachment removes a link from the action actionID, or from the plan when actionID is "".
func (p *Plan) RemoveAttachment(c Change, actionID, attachmentID string) ([]Event, error) {
	if err := p.active(); err != nil {
		return nil, err
	}
	list := &p.Attachments
	var a *Action
	if actionID != "" {
		var err error
		if a, err = p.findAction(c.By, actionID); err != nil {
			return nil, err
		}
		list = &a.Attachments
	}
	i := slices.IndexFunc(*list, func(x Attachment) bool { return x.ID == attachmentID })
	if i < 0 || ((*list)[i].Internal && c.By.Side == SideBuyer) {
		return nil, &NotFoundError{Kind: "attachment", ID: attachmentID}
	}
	r := &recorder{p: p, c: c}
	old := (*list)[i]
	*list = slices.Delete(slices.Clone(*list), i, i+1)
	if a != nil {
		r.touch(a)
	}
	e := r.add(EventAttachmentRemoved, a, old, nil)
	e.Internal = e.Internal || old.Internal
	return r.done(), nil
}

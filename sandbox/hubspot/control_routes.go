package hubspot

import (
	"errors"
	"net/http"
	"time"

	"github.com/mapsync/mapsync/sandbox/wire"
)

// The control API lives under /__sandbox/ (it is not part of HubSpot's API): JSON in and out,
// no auth, no limits, no faults, not counted.
func (s *Sandbox) controlRoutes() {
	c := func(pattern string, h http.HandlerFunc) { s.handle(pattern, kindControl, h) }
	c("GET /__sandbox/{$}", s.ctlInfo)
	c("GET /__sandbox/counters", s.ctlCounters)
	c("DELETE /__sandbox/counters", func(w http.ResponseWriter, _ *http.Request) { s.ResetCounters(); writeNoContent(w) })
	c("PUT /__sandbox/latency", s.ctlLatency)
	c("POST /__sandbox/faults", s.ctlFault)
	c("DELETE /__sandbox/faults", func(w http.ResponseWriter, _ *http.Request) { s.ClearFaults(); writeNoContent(w) })
	c("POST /__sandbox/objects/{objectType}", s.ctlCreate)
	c("PATCH /__sandbox/objects/{objectType}/{objectId}", s.ctlUpdate)
	c("DELETE /__sandbox/objects/{objectType}/{objectId}", s.ctlArchive)
	c("POST /__sandbox/deals", withType("deals", s.ctlCreate))
	c("PATCH /__sandbox/deals/{objectId}", withType("deals", s.ctlUpdate))
	c("DELETE /__sandbox/deals/{objectId}", withType("deals", s.ctlArchive))
	c("GET /__sandbox/limits", func(w http.ResponseWriter, _ *http.Request) { writeJSON(w, http.StatusOK, s.Limits()) })
	c("POST /__sandbox/limits", s.ctlLimits)
	c("POST /__sandbox/traps/same-stamp", s.ctlSameStamp)
	c("POST /__sandbox/traps/late-record", s.ctlLateRecord)
	c("POST /__sandbox/traps/late-record/{objectType}/{objectId}/release", s.ctlRelease)
	c("PUT /__sandbox/webhooks", s.ctlWebhooks)
	c("DELETE /__sandbox/webhooks", func(w http.ResponseWriter, _ *http.Request) {
		s.ConfigureWebhooks(WebhookConfig{})
		writeNoContent(w)
	})
	c("GET /__sandbox/webhooks", func(w http.ResponseWriter, _ *http.Request) { writeJSON(w, http.StatusOK, s.WebhookStats()) })
}

func withType(t string, h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		r.SetPathValue("objectType", t)
		h(w, r)
	}
}

// writeControlError maps a control method's error to a status.
func writeControlError(w http.ResponseWriter, err error) {
	switch {
	case errors.Is(err, ErrNotFound):
		writeError(w, http.StatusNotFound, catNotFound, err.Error())
	default:
		writeError(w, http.StatusBadRequest, catValidation, err.Error())
	}
}

func (s *Sandbox) ctlInfo(w http.ResponseWriter, _ *http.Request) {
	s.mu.RLock()
	deals, contacts := len(s.types["deals"].records), len(s.types["contacts"].records)
	s.mu.RUnlock()
	used, daily := s.DailyUsage()
	writeJSON(w, http.StatusOK, map[string]any{
		"privateAppToken": PrivateAppToken, "clientId": ClientID, "clientSecret": ClientSecret, "refreshToken": RefreshToken,
		"portalId": PortalID, "appId": AppID, "deals": deals, "contacts": contacts, "owners": len(s.owners),
		"dailyUsed": used, "dailyLimit": daily,
	})
}

func (s *Sandbox) ctlCounters(w http.ResponseWriter, _ *http.Request) {
	counts := s.Counts()
	total := 0
	for _, c := range counts {
		total += c.N
	}
	writeJSON(w, http.StatusOK, map[string]any{"total": total, "counts": counts})
}

func (s *Sandbox) ctlLatency(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Latency Duration `json:"latency"`
	}
	if !decodeBody(w, r, &in) {
		return
	}
	s.SetLatency(time.Duration(in.Latency))
	writeNoContent(w)
}

// faultRequest is the body of POST /__sandbox/faults.
type faultRequest struct {
	// Kind is server_errors, rate_limits, slow, expire_tokens, revoke_refresh_token, fail_write,
	// or a corrupt 200 reply: truncated, not_json or wrong_shape (wire.BadBody).
	Kind       string   `json:"kind"`
	Count      int      `json:"count"`
	Status     int      `json:"status"`
	Delay      Duration `json:"delay"`
	ObjectType string   `json:"objectType"`
	ID         string   `json:"id"`
	// Path limits truncated, not_json and wrong_shape to requests whose path contains it.
	Path string `json:"path"`
}

func (s *Sandbox) ctlFault(w http.ResponseWriter, r *http.Request) {
	var in faultRequest
	if !decodeBody(w, r, &in) {
		return
	}
	count := max(in.Count, 1)
	switch in.Kind {
	case "server_errors":
		s.InjectServerErrors(count, in.Status)
	case "rate_limits":
		s.InjectRateLimits(count)
	case "slow":
		s.InjectSlow(count, time.Duration(in.Delay))
	case "expire_tokens":
		s.ExpireTokens()
	case "revoke_refresh_token":
		s.RevokeRefreshToken()
	case "fail_write":
		if err := s.FailNextWrite(in.ObjectType, in.ID); err != nil {
			writeControlError(w, err)
			return
		}
	default:
		bad, ok := wire.ParseBadBody(in.Kind)
		if !ok {
			writeError(w, http.StatusBadRequest, catValidation, "unknown fault kind "+in.Kind+
				"; want server_errors, rate_limits, slow, expire_tokens, revoke_refresh_token, fail_write, truncated, not_json or wrong_shape")
			return
		}
		s.InjectBadBodies(count, bad, in.Path)
	}
	writeNoContent(w)
}

// ctlLimits serves POST /__sandbox/limits {"burstLimit","dailyLimit","searchPerSecond",
// "dailyUsed"}: each given limit is set as in Options (0: the default, negative: none), omitted
// ones stay; dailyUsed sets today's count. It answers the resulting Limits.
func (s *Sandbox) ctlLimits(w http.ResponseWriter, r *http.Request) {
	var in struct {
		BurstLimit      *int `json:"burstLimit"`
		DailyLimit      *int `json:"dailyLimit"`
		SearchPerSecond *int `json:"searchPerSecond"`
		DailyUsed       *int `json:"dailyUsed"`
	}
	if !decodeBody(w, r, &in) {
		return
	}
	if in.BurstLimit != nil || in.DailyLimit != nil || in.SearchPerSecond != nil {
		cur := s.Limits()
		pick := func(v *int, cur int) int {
			if v != nil {
				return *v
			}
			return cur
		}
		s.SetLimits(pick(in.BurstLimit, cur.BurstLimit), pick(in.DailyLimit, cur.DailyLimit), pick(in.SearchPerSecond, cur.SearchPerSecond))
	}
	if in.DailyUsed != nil {
		if *in.DailyUsed < 0 {
			writeError(w, http.StatusBadRequest, catValidation, "dailyUsed must not be negative")
			return
		}
		s.SetDailyUsage(*in.DailyUsed)
	}
	writeJSON(w, http.StatusOK, s.Limits())
}

type ctlProps struct {
	Properties map[string]string `json:"properties"`
}

func (s *Sandbox) ctlCreate(w http.ResponseWriter, r *http.Request) {
	var in ctlProps
	if !decodeBody(w, r, &in) {
		return
	}
	id, err := s.CreateObject(r.PathValue("objectType"), in.Properties)
	if err != nil {
		writeControlError(w, err)
		return
	}
	props, _ := s.Object(r.PathValue("objectType"), id)
	writeJSON(w, http.StatusCreated, map[string]any{"id": id, "properties": props})
}

func (s *Sandbox) ctlUpdate(w http.ResponseWriter, r *http.Request) {
	var in ctlProps
	if !decodeBody(w, r, &in) {
		return
	}
	ot, id := r.PathValue("objectType"), r.PathValue("objectId")
	if err := s.UpdateObject(ot, id, in.Properties); err != nil {
		writeControlError(w, err)
		return
	}
	props, _ := s.Object(ot, id)
	writeJSON(w, http.StatusOK, map[string]any{"id": id, "properties": props})
}

func (s *Sandbox) ctlArchive(w http.ResponseWriter, r *http.Request) {
	if err := s.ArchiveObject(r.PathValue("objectType"), r.PathValue("objectId")); err != nil {
		writeControlError(w, err)
		return
	}
	writeNoContent(w)
}

func (s *Sandbox) ctlSameStamp(w http.ResponseWriter, r *http.Request) {
	var in struct {
		ObjectType string            `json:"objectType"`
		Count      int               `json:"count"`
		Properties map[string]string `json:"properties"`
	}
	if !decodeBody(w, r, &in) {
		return
	}
	if in.ObjectType == "" {
		in.ObjectType = "deals"
	}
	res, err := s.SameStamp(in.ObjectType, in.Count, in.Properties)
	if err != nil {
		writeControlError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"stamp": res.Stamp.Format(isoMillis), "updated": res.Updated,
		"created": res.Created, "firstId": res.FirstID, "lastId": res.LastID})
}

func (s *Sandbox) ctlLateRecord(w http.ResponseWriter, r *http.Request) {
	var in struct {
		ObjectType   string            `json:"objectType"`
		ID           string            `json:"id"`
		Properties   map[string]string `json:"properties"`
		Lag          Duration          `json:"lag"`
		VisibleAfter Duration          `json:"visibleAfter"`
	}
	if !decodeBody(w, r, &in) {
		return
	}
	if in.ObjectType == "" {
		in.ObjectType = "deals"
	}
	id, stamp, err := s.LateRecord(in.ObjectType, in.ID, in.Properties, time.Duration(in.Lag), time.Duration(in.VisibleAfter))
	if err != nil {
		writeControlError(w, err)
		return
	}
	writeJSON(w, http.StatusCreated, map[string]any{"id": id, "stamp": stamp.Format(isoMillis)})
}

func (s *Sandbox) ctlRelease(w http.ResponseWriter, r *http.Request) {
	if err := s.Release(r.PathValue("objectType"), r.PathValue("objectId")); err != nil {
		writeControlError(w, err)
		return
	}
	writeNoContent(w)
}

func (s *Sandbox) ctlWebhooks(w http.ResponseWriter, r *http.Request) {
	var in WebhookConfig
	if !decodeBody(w, r, &in) {
		return
	}
	s.ConfigureWebhooks(in)
	writeJSON(w, http.StatusOK, s.WebhookStats())
}

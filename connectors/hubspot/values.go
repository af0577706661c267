package hubspot

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// propertyValue renders a change's value the way HubSpot's batch/update takes it: every value is
// a string; nil clears the property (""); numbers in plain decimal; booleans "true"/"false"; a
// time.Time as epoch milliseconds (valid for datetime properties, and for date properties when at
// midnight UTC).
func propertyValue(v any) (string, error) {
	switch x := v.(type) {
	case nil:
		return "", nil
	case string:
		return x, nil
	case bool:
		return strconv.FormatBool(x), nil
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64), nil
	case float32:
		return strconv.FormatFloat(float64(x), 'f', -1, 32), nil
	case int:
		return strconv.Itoa(x), nil
	case int8, int16, int32, int64:
		return fmt.Sprintf("%d", x), nil
	case uint, uint8, uint16, uint32, uint64:
		return fmt.Sprintf("%d", x), nil
	case json.Number:
		return x.String(), nil
	case time.Time:
		return formatMillis(x), nil
	case []string:
		return strings.Join(x, ";"), nil
	default:
		return "", fmt.Errorf("value of type %T cannot be written to hubspot", v)
	}
}

// propertyError is one entry of the list a VALIDATION_ERROR message carries.
type propertyError struct {
	IsValid bool   `json:"isValid"`
	Message string `json:"message"`
	Error   string `json:"error"`
	Name    string `json:"name"`
}

// parsePropertyErrors extracts the per-property errors from a VALIDATION_ERROR message of the form
// `Property values were not valid: [{"isValid":false,"message":"…","error":"INVALID_OPTION","name":"dealstage"}]`.
// It returns nil when the message has no such list.
func parsePropertyErrors(message string) []propertyError {
	i := strings.IndexByte(message, '[')
	if i < 0 {
		return nil
	}
	var out []propertyError
	if err := json.Unmarshal([]byte(message[i:]), &out); err != nil {
		return nil
	}
	return out
}

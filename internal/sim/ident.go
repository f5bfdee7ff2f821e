package sim

import (
	"crypto/sha256"
	"fmt"
)

// imeiFor derives a stable, Luhn-valid IMEI from the board's serial number. The type
// allocation code 35265610 is the one of the nRF9160 examples in Nordic's tests.
func imeiFor(serial string) string {
	sum := sha256.Sum256([]byte("imei:" + serial))
	var body [14]byte
	copy(body[:], "35265610")
	for i := 8; i < 14; i++ {
		body[i] = '0' + sum[i]%10
	}
	return string(body[:]) + string('0'+luhnCheckDigit(body[:]))
}

// luhnCheckDigit computes the check digit an IMEI ends with.
func luhnCheckDigit(digits []byte) byte {
	total := 0
	for i := len(digits) - 1; i >= 0; i-- {
		d := int(digits[i] - '0')
		// Double every second digit counting from the right of the payload.
		if (len(digits)-1-i)%2 == 0 {
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		total += d
	}
	return byte((10 - total%10) % 10)
}

// deviceUUIDFor derives the modem's device UUID (a version-4-shaped UUID) from the serial number.
func deviceUUIDFor(serial string) [16]byte {
	sum := sha256.Sum256([]byte("uuid:" + serial))
	var u [16]byte
	copy(u[:], sum[:16])
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	return u
}

func formatUUID(u [16]byte) string {
	return fmt.Sprintf("%x-%x-%x-%x-%x", u[0:4], u[4:6], u[6:8], u[8:10], u[10:16])
}

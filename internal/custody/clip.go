package custody

// Clip shortens s for a message or a log line to at most n characters (runes), marking a cut with
// "…": a value someone pasted (a whole file as a barcode, a paragraph as a date) is quoted
// without drowning the message, and no character is cut in two. It is the one clip of the
// project; internal/epc and internal/wire hold private copies because they are vocabulary that
// imports nothing of the project (DESIGN §4: wire imports only the standard library), and a bound
// on input or on a wire field (bytes, no mark) is a different job (wire.ClipText, the console's
// form bounds).
func Clip(s string, n int) string {
	i := 0
	for at := range s {
		if i == n {
			return s[:at] + "…"
		}
		i++
	}
	return s
}

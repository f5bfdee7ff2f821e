// Package sim is a virtual nRF91 board: the modem (its %CMNG credential store and the handful
// of AT commands a provisioning tool uses), the device-side AT host firmware (at_client,
// modem_shell, serial_lte_modem, or an application with no AT host at all), and the UART link
// between them and the host, paced at the configured baud rate on a real pseudo-terminal.
//
// Every test and the demo of nrfprov run against this model, so its fidelity is a product
// feature: it follows ../shared/docs/modem-cmng-athost.md byte for byte, including the failure
// modes users hit in the field (the overflow-inside-quotes hang of lib/at_host, placeholder
// hashes and hanging writes on mfw 0.7.0, truncated read-back through a small AT buffer, CME
// errors 513/514/515/518/519/527/528, bytes lost while a command executes).
//
// Where that document marks a behaviour as inferred, the model makes it configurable.
//
// The package deliberately shares no code with internal/at or internal/cmng: the board and the
// tool are two independent readings of the same spec, so that a misreading in one shows up as a
// failing test instead of cancelling out.
package sim

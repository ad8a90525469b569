// Package progress shows a run's progress as it happens: trials and cells
// done of their totals, the trial under way and an estimate of the time
// left. A Display is the runner's Observer; on a terminal it draws a live
// bar with a line above it per finished trial, elsewhere (a file, a pipe,
// CI) it writes one plain line per trial.
package progress

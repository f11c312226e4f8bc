# lsq.awk - least-squares line fit, shared by startup.sh and paired.sh
# (awk -f lsq.awk -f PROGRAM): lsq_add(KEY, X, Y) adds a point to the fit
# named KEY; lsq_fits(KEY) says whether the points of KEY fix a line (two
# different X at least); lsq_slope(KEY) and lsq_intercept(KEY) are its
# slope and intercept then.
function lsq_add(k, x, y) {
    lsq_n[k]++; lsq_sx[k] += x; lsq_sy[k] += y; lsq_sxx[k] += x * x; lsq_sxy[k] += x * y
}
function lsq_det(k) { return lsq_n[k] * lsq_sxx[k] - lsq_sx[k] * lsq_sx[k] }
function lsq_fits(k) { return (k in lsq_n) && lsq_det(k) != 0 }
function lsq_slope(k) { return (lsq_n[k] * lsq_sxy[k] - lsq_sx[k] * lsq_sy[k]) / lsq_det(k) }
function lsq_intercept(k) { return (lsq_sy[k] - lsq_slope(k) * lsq_sx[k]) / lsq_n[k] }

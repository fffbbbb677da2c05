package dev.singlepull.load;

import java.util.Arrays;
import java.util.List;

/** The statistics the benchmarks print: medians of a few rounds. */
final class BenchStats {
    private BenchStats() {
    }

    /** The median of the values, the upper of the two middle ones for an even count. */
    static double median(double[] values) {
        double[] sorted = values.clone();
        Arrays.sort(sorted);
        return sorted[sorted.length / 2];
    }

    /** {@link #median(double[])} of a list. */
    static double median(List<Double> values) {
        return median(values.stream().mapToDouble(Double::doubleValue).toArray());
    }
}

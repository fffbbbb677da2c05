package dev.singlepull.cri.cli;

import java.util.List;

/** Prints rows as left-aligned columns separated by at least three spaces, as crictl does. */
final class Table {
    private Table() {
    }

    static void print(List<String[]> rows) {
        int columns = rows.getFirst().length;
        int[] widths = new int[columns];
        for (String[] row : rows) {
            for (int c = 0; c < columns; c++) {
                widths[c] = Math.max(widths[c], row[c].length());
            }
        }
        StringBuilder out = new StringBuilder();
        for (String[] row : rows) {
            StringBuilder line = new StringBuilder();
            for (int c = 0; c < columns; c++) {
                line.append(row[c]);
                if (c < columns - 1) {
                    line.append(" ".repeat(widths[c] - row[c].length() + 3));
                }
            }
            out.append(line.toString().stripTrailing()).append('\n');
        }
        System.out.print(out);
    }
}

// pgjdbc against a running eddy server (cli/tests/e2e/clients.rs compiles this file, starts
// the server and passes its port): connect, the DatabaseMetaData calls JDBC tools (DBeaver,
// IntelliJ, Metabase) make to browse a database, a PreparedStatement run past pgjdbc's
// prepareThreshold (a named server-side statement), and a query. Prints "pgjdbc ok" when
// every check holds; any failed check throws.

import java.sql.Connection;
import java.sql.DatabaseMetaData;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;

public class JdbcClient {
    static void check(boolean condition, String what) {
        if (!condition) {
            throw new AssertionError(what);
        }
    }

    static List<String> column(ResultSet rows, String name) throws Exception {
        List<String> values = new ArrayList<>();
        try (rows) {
            while (rows.next()) {
                values.add(rows.getString(name));
            }
        }
        return values;
    }

    public static void main(String[] args) throws Exception {
        String url = "jdbc:postgresql://127.0.0.1:" + args[0] + "/eddy";
        try (Connection connection = DriverManager.getConnection(url, "eddy", "")) {
            try (Statement statement = connection.createStatement()) {
                statement.execute("CREATE TABLE parts (id BIGINT PRIMARY KEY, name STRING, weight DOUBLE)");
                statement.execute("CREATE STREAM moves (part BIGINT KEY, station STRING)");
                statement.execute("INSERT INTO parts (id, name, weight) VALUES (1, 'bolt', 0.5), (2, 'nut', 0.25)");
            }
            DatabaseMetaData metadata = connection.getMetaData();
            check(metadata.getDatabaseProductName().equals("PostgreSQL"), metadata.getDatabaseProductName());
            check(metadata.getDatabaseMajorVersion() == 15, metadata.getDatabaseProductVersion());

            List<String> schemas = column(metadata.getSchemas(), "TABLE_SCHEM");
            check(schemas.contains("public"), "schemas: " + schemas);
            List<String> tables = column(metadata.getTables(null, "public", "%", new String[] {"TABLE"}), "TABLE_NAME");
            check(tables.contains("parts") && tables.contains("moves"), "tables: " + tables);

            List<String> names = new ArrayList<>();
            List<String> types = new ArrayList<>();
            try (ResultSet columns = metadata.getColumns(null, "public", "parts", "%")) {
                while (columns.next()) {
                    names.add(columns.getString("COLUMN_NAME"));
                    types.add(columns.getString("TYPE_NAME"));
                }
            }
            check(names.equals(List.of("id", "name", "weight")), "columns: " + names);
            check(types.equals(List.of("int8", "text", "float8")), "column types: " + types);

            List<String> key = column(metadata.getPrimaryKeys(null, "public", "parts"), "COLUMN_NAME");
            check(key.equals(List.of("id")), "primary key: " + key);

            // Past prepareThreshold (5) pgjdbc names the statement on the server and reuses it.
            try (PreparedStatement lookup = connection.prepareStatement("SELECT name, weight FROM parts WHERE id = ?")) {
                for (int run = 0; run < 8; run++) {
                    lookup.setLong(1, 1 + run % 2);
                    try (ResultSet rows = lookup.executeQuery()) {
                        check(rows.next(), "a row for id " + (1 + run % 2));
                        String expected = run % 2 == 0 ? "bolt" : "nut";
                        check(rows.getString(1).equals(expected), "name " + rows.getString(1));
                        check(!rows.next(), "one row");
                    }
                }
            }
            try (Statement statement = connection.createStatement();
                    ResultSet rows = statement.executeQuery("SELECT COUNT(*) AS n, SUM(weight) AS total FROM parts")) {
                check(rows.next(), "an aggregate row");
                check(rows.getLong("n") == 2 && rows.getDouble("total") == 0.75, "count and sum");
            }
        }
        System.out.println("pgjdbc ok");
    }
}

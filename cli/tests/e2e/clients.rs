//! The client matrix against the real binary: each driver or ORM runs its own program
//! (`cli/tests/clients/`: psycopg 3, psycopg2, SQLAlchemy, node-postgres, pgjdbc) against a
//! server started here; tokio-postgres reads columns of Eddy's types; the navigation
//! queries of Grafana, DBeaver and Metabase and the type loading of Npgsql, which cannot run
//! here, are replayed with the exact text they send (`../shared/reference/pg-clients.md`,
//! or their source) and their answers checked.
//!
//! A client that is not installed fails its test with what to install (`scripts/test`
//! installs them all): nothing is skipped.
//!
//! Never: assert on OIDs (they depend on the data directory) or on time.

use std::path::{Path, PathBuf};
use std::process::Command;

use tokio_postgres::error::SqlState;
use tokio_postgres::types::{FromSql, Type};
use tokio_postgres::{Client, SimpleQueryMessage};

use super::{Server, execute};

/// The client programs beside this file.
fn clients_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/clients")
}

/// Runs a client program to its end; it must succeed and print `ok_line`.
fn run_client(command: &mut Command, ok_line: &str, install_hint: &str) {
    let output = command
        .output()
        .unwrap_or_else(|error| panic!("{command:?} does not start ({install_hint}): {error}"));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success() && stdout.lines().any(|line| line == ok_line),
        "{command:?} ({install_hint})\nstdout: {stdout}\nstderr: {stderr}"
    );
}

fn python(script: &str, port: u16) -> Command {
    let mut command = Command::new("python3");
    command
        .arg(clients_dir().join(script))
        .arg(port.to_string());
    command
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn psycopg2_queries_writes_and_streams_a_push_query() {
    let data = tempfile::tempdir().unwrap();
    let server = Server::start(data.path(), &[]);
    run_client(
        &mut python("psycopg2_client.py", server.port()),
        "psycopg2 ok",
        "pip install psycopg2-binary",
    );
    server.stop();
}

/// psycopg 3's `TypeInfo.fetch`, as SQLAlchemy and `register_hstore` call it: alone
/// (BEGIN .. COMMIT around it) and inside a transaction (SAVEPOINT .. RELEASE).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn psycopg_type_info_fetch_finds_eddys_types_and_not_others() {
    let data = tempfile::tempdir().unwrap();
    let server = Server::start(data.path(), &[]);
    let script = r#"
import sys, psycopg
from psycopg.types import TypeInfo
with psycopg.connect(f"host=127.0.0.1 port={sys.argv[1]} user=eddy dbname=eddy") as conn:
    int8 = TypeInfo.fetch(conn, "int8")
    assert (int8.name, int8.oid, int8.array_oid, int8.regtype) == ("int8", 20, 1016, "bigint"), int8
    assert TypeInfo.fetch(conn, "hstore") is None
    with conn.transaction():
        text = TypeInfo.fetch(conn, "text")
        assert (text.oid, text.array_oid) == (25, 1009), text
        assert TypeInfo.fetch(conn, "hstore") is None
print("psycopg ok")
"#;
    run_client(
        Command::new("python3")
            .arg("-c")
            .arg(script)
            .arg(server.port().to_string()),
        "psycopg ok",
        "pip install 'psycopg[binary]'",
    );
    server.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlalchemy_inspects_and_maps_eddy_tables_over_both_drivers() {
    let data = tempfile::tempdir().unwrap();
    let server = Server::start(data.path(), &[]);
    let client = server.connect().await;
    execute(
        &client,
        "CREATE TABLE users (id BIGINT PRIMARY KEY, name STRING, score DOUBLE);
         CREATE STREAM clicks (user_id BIGINT KEY, url STRING);
         CREATE TABLE clicks_per_user AS
             SELECT user_id, COUNT(*) AS clicks FROM clicks GROUP BY user_id;",
    )
    .await;
    run_client(
        &mut python("sqlalchemy_client.py", server.port()),
        "sqlalchemy ok",
        "pip install sqlalchemy psycopg2-binary 'psycopg[binary]'",
    );
    server.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_postgres_queries_with_parameters_and_streams_a_push_query() {
    let data = tempfile::tempdir().unwrap();
    let server = Server::start(data.path(), &[]);
    let node = clients_dir().join("node");
    assert!(
        node.join("node_modules/pg").is_dir(),
        "node-postgres is not installed: run `npm ci` in {} (scripts/test does)",
        node.display()
    );
    run_client(
        Command::new("node")
            .arg(node.join("client.js"))
            .arg(server.port().to_string())
            .current_dir(&node),
        "node-postgres ok",
        "install nodejs and npm",
    );
    server.stop();
}

/// Where Debian's libpostgresql-jdbc-java puts the driver.
const PGJDBC_JAR: &str = "/usr/share/java/postgresql.jar";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pgjdbc_browses_metadata_and_runs_prepared_statements() {
    assert!(
        Path::new(PGJDBC_JAR).is_file(),
        "{PGJDBC_JAR} is missing: apt-get install libpostgresql-jdbc-java"
    );
    let classes = tempfile::tempdir().unwrap();
    let compiled = Command::new("javac")
        .args(["-d", classes.path().to_str().expect("UTF-8 path")])
        .args(["-cp", PGJDBC_JAR])
        .arg(clients_dir().join("java/JdbcClient.java"))
        .output()
        .expect("javac runs (apt-get install default-jdk-headless)");
    assert!(
        compiled.status.success(),
        "javac: {}",
        String::from_utf8_lossy(&compiled.stderr)
    );
    let data = tempfile::tempdir().unwrap();
    let server = Server::start(data.path(), &[]);
    let class_path = format!("{}:{PGJDBC_JAR}", classes.path().display());
    run_client(
        Command::new("java")
            .args(["-cp", &class_path, "JdbcClient"])
            .arg(server.port().to_string()),
        "pgjdbc ok",
        "apt-get install default-jdk-headless",
    );
    server.stop();
}

/// A value in the binary format whatever its type: what a program does with a type its
/// driver has no Rust type for.
struct Raw(Vec<u8>);

impl<'a> FromSql<'a> for Raw {
    fn from_sql(_: &Type, raw: &'a [u8]) -> Result<Self, Box<dyn std::error::Error + Sync + Send>> {
        Ok(Raw(raw.to_vec()))
    }

    fn accepts(_: &Type) -> bool {
        true
    }
}

/// Eddy's types that Postgres does not have (STRUCT, MAP, a named type) reach
/// tokio-postgres as built-in types it knows, so preparing a query over them needs no
/// catalog lookup, and their values decode.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokio_postgres_reads_eddy_types_it_does_not_know() {
    let data = tempfile::tempdir().unwrap();
    let server = Server::start(data.path(), &[]);
    let client = server.connect().await;
    execute(
        &client,
        "CREATE TYPE address AS STRUCT<street STRING, zip INT>;
         CREATE TABLE places (id BIGINT PRIMARY KEY, home address,
             tags MAP<STRING, INT>, names ARRAY<STRING>, price DECIMAL(6, 2));
         INSERT INTO places (id, home, tags, names, price) VALUES
             (1, STRUCT(street := 'Main', zip := 1000), MAP('a' := 1), ARRAY['x', 'y'], 12.5);",
    )
    .await;
    let statement = client
        .prepare("SELECT id, home, tags, names, price FROM places WHERE id = $1")
        .await
        .expect("prepares without a catalog lookup");
    let types: Vec<Type> = statement
        .columns()
        .iter()
        .map(|column| column.type_().clone())
        .collect();
    assert_eq!(
        types,
        [
            Type::INT8,
            Type::JSON,
            Type::JSON,
            Type::TEXT_ARRAY,
            Type::NUMERIC
        ]
    );
    assert_eq!(statement.params(), [Type::INT8]);
    let row = client
        .query_one(&statement, &[&1_i64])
        .await
        .expect("one row");
    let home: Raw = row.get("home");
    assert_eq!(
        String::from_utf8(home.0).expect("JSON text"),
        r#"{"street":"Main","zip":1000}"#
    );
    let tags: Raw = row.get("tags");
    assert_eq!(String::from_utf8(tags.0).expect("JSON text"), r#"{"a":1}"#);
    assert_eq!(row.get::<_, Vec<String>>("names"), ["x", "y"]);
    let price: Raw = row.get("price");
    assert!(!price.0.is_empty(), "a binary numeric");
    // The lookup tokio-postgres would send for an OID it does not know answers no rows.
    let unknown = client
        .query(
            "SELECT t.typname, t.typtype, t.typelem, r.rngsubtype, t.typbasetype, n.nspname, \
             t.typrelid FROM pg_catalog.pg_type t \
             LEFT OUTER JOIN pg_catalog.pg_range r ON r.rngtypid = t.oid \
             INNER JOIN pg_catalog.pg_namespace n ON t.typnamespace = n.oid WHERE t.oid = $1",
            &[&99_999_i64],
        )
        .await
        .expect("the type lookup answers");
    assert!(unknown.is_empty());
    server.stop();
}

/// Each row of a simple query's answer, its columns as text (NULL as "NULL").
async fn text_rows(client: &Client, sql: &str) -> Vec<Vec<String>> {
    result_sets(client, sql).await.concat()
}

/// The SQLSTATE of a simple query that must fail.
async fn error_code(client: &Client, sql: &str) -> SqlState {
    let Err(error) = client.simple_query(sql).await else {
        panic!("{sql} must fail");
    };
    error
        .code()
        .cloned()
        .unwrap_or_else(|| panic!("{sql} fails with a SQLSTATE: {error}"))
}

/// The column names of a simple query's answer, in order.
async fn column_names(client: &Client, sql: &str) -> Vec<String> {
    let messages = client
        .simple_query(sql)
        .await
        .unwrap_or_else(|error| panic!("{sql}\nfails: {error}"));
    messages
        .into_iter()
        .find_map(|message| match message {
            SimpleQueryMessage::RowDescription(columns) => Some(
                columns
                    .iter()
                    .map(|column| column.name().to_string())
                    .collect(),
            ),
            _ => None,
        })
        .unwrap_or_default()
}

/// Grafana's search-path constraint (`buildSchemaConstraint`): the schemas of the session's
/// `search_path`, with `"$user"` as the user's name.
const GRAFANA_SEARCH_PATH: &str = "
          quote_ident(table_schema) IN (
          SELECT
            CASE WHEN trim(s[i]) = '\"$user\"' THEN user ELSE trim(s[i]) END
          FROM
            generate_series(
              array_lower(string_to_array(current_setting('search_path'),','),1),
              array_upper(string_to_array(current_setting('search_path'),','),1)
            ) as i,
            string_to_array(current_setting('search_path'),',') s
          )";

/// pgjdbc's `getSQLKeywords` (42.5, as DBeaver calls it), from its `PgDatabaseMetaData`.
const PGJDBC_SQL_KEYWORDS: &str = r#"select string_agg(word, ',') from pg_catalog.pg_get_keywords() where word <> ALL ('{a,abs,absolute,action,ada,add,admin,after,all,allocate,alter,always,and,any,are,array,as,asc,asensitive,assertion,assignment,asymmetric,at,atomic,attribute,attributes,authorization,avg,before,begin,bernoulli,between,bigint,binary,blob,boolean,both,breadth,by,c,call,called,cardinality,cascade,cascaded,case,cast,catalog,catalog_name,ceil,ceiling,chain,char,char_length,character,character_length,character_set_catalog,character_set_name,character_set_schema,characteristics,characters,check,checked,class_origin,clob,close,coalesce,cobol,code_units,collate,collation,collation_catalog,collation_name,collation_schema,collect,column,column_name,command_function,command_function_code,commit,committed,condition,condition_number,connect,connection_name,constraint,constraint_catalog,constraint_name,constraint_schema,constraints,constructors,contains,continue,convert,corr,corresponding,count,covar_pop,covar_samp,create,cross,cube,cume_dist,current,current_collation,current_date,current_default_transform_group,current_path,current_role,current_time,current_timestamp,current_transform_group_for_type,current_user,cursor,cursor_name,cycle,data,date,datetime_interval_code,datetime_interval_precision,day,deallocate,dec,decimal,declare,default,defaults,deferrable,deferred,defined,definer,degree,delete,dense_rank,depth,deref,derived,desc,describe,descriptor,deterministic,diagnostics,disconnect,dispatch,distinct,domain,double,drop,dynamic,dynamic_function,dynamic_function_code,each,element,else,end,end-exec,equals,escape,every,except,exception,exclude,excluding,exec,execute,exists,exp,external,extract,false,fetch,filter,final,first,float,floor,following,for,foreign,fortran,found,free,from,full,function,fusion,g,general,get,global,go,goto,grant,granted,group,grouping,having,hierarchy,hold,hour,identity,immediate,implementation,in,including,increment,indicator,initially,inner,inout,input,insensitive,insert,instance,instantiable,int,integer,intersect,intersection,interval,into,invoker,is,isolation,join,k,key,key_member,key_type,language,large,last,lateral,leading,left,length,level,like,ln,local,localtime,localtimestamp,locator,lower,m,map,match,matched,max,maxvalue,member,merge,message_length,message_octet_length,message_text,method,min,minute,minvalue,mod,modifies,module,month,more,multiset,mumps,name,names,national,natural,nchar,nclob,nesting,new,next,no,none,normalize,normalized,not,"null",nullable,nullif,nulls,number,numeric,object,octet_length,octets,of,old,on,only,open,option,options,or,order,ordering,ordinality,others,out,outer,output,over,overlaps,overlay,overriding,pad,parameter,parameter_mode,parameter_name,parameter_ordinal_position,parameter_specific_catalog,parameter_specific_name,parameter_specific_schema,partial,partition,pascal,path,percent_rank,percentile_cont,percentile_disc,placing,pli,position,power,preceding,precision,prepare,preserve,primary,prior,privileges,procedure,public,range,rank,read,reads,real,recursive,ref,references,referencing,regr_avgx,regr_avgy,regr_count,regr_intercept,regr_r2,regr_slope,regr_sxx,regr_sxy,regr_syy,relative,release,repeatable,restart,result,return,returned_cardinality,returned_length,returned_octet_length,returned_sqlstate,returns,revoke,right,role,rollback,rollup,routine,routine_catalog,routine_name,routine_schema,row,row_count,row_number,rows,savepoint,scale,schema,schema_name,scope_catalog,scope_name,scope_schema,scroll,search,second,section,security,select,self,sensitive,sequence,serializable,server_name,session,session_user,set,sets,similar,simple,size,smallint,some,source,space,specific,specific_name,specifictype,sql,sqlexception,sqlstate,sqlwarning,sqrt,start,state,statement,static,stddev_pop,stddev_samp,structure,style,subclass_origin,submultiset,substring,sum,symmetric,system,system_user,table,table_name,tablesample,temporary,then,ties,time,timestamp,timezone_hour,timezone_minute,to,top_level_count,trailing,transaction,transaction_active,transactions_committed,transactions_rolled_back,transform,transforms,translate,translation,treat,trigger,trigger_catalog,trigger_name,trigger_schema,trim,true,type,uescape,unbounded,uncommitted,under,union,unique,unknown,unnamed,unnest,update,upper,usage,user,user_defined_type_catalog,user_defined_type_code,user_defined_type_name,user_defined_type_schema,using,value,values,var_pop,var_samp,varchar,varying,view,when,whenever,where,width_bucket,window,with,within,without,work,write,year,zone}'::text[])"#;

const BI_SOURCES: &str = "
    CREATE STREAM readings (sensor BIGINT KEY, celsius DOUBLE, ts TIMESTAMP)
        WITH (PARTITIONS = 1, TIMESTAMP = 'ts');
    CREATE TABLE sensors (id BIGINT PRIMARY KEY, room STRING);
    INSERT INTO readings (sensor, celsius, ts) VALUES
        (1, 20.0, '2024-01-01 00:00:10'), (1, 22.0, '2024-01-01 00:00:50'),
        (2, 30.0, '2024-01-01 00:01:30'), (2, 99.0, '2024-01-01 07:00:00');";

/// A server holding `BI_SOURCES` and a session on it; with `pgjdbc`, set up as a tool on
/// pgjdbc sets its sessions up (its `extra_float_digits`, then its application name).
async fn bi_tool_session(data: &Path, pgjdbc: Option<(u8, &str)>) -> (Server, Client) {
    let server = Server::start(data, &[]);
    let client = server.connect().await;
    execute(&client, BI_SOURCES).await;
    if let Some((float_digits, application)) = pgjdbc {
        execute(
            &client,
            &format!(
                "SET extra_float_digits = {float_digits};
                 SET application_name = '{application}'"
            ),
        )
        .await;
    }
    (server, client)
}

/// Grafana's PostgreSQL data source: its version and TimescaleDB probes, the schema picker,
/// the table picker with a schema chosen and without (tables on the search path first, by
/// bare name, ordered by `IN (subquery)`), the column picker for a bare and a qualified
/// name, and a panel query with `$__timeFilter` and `$__timeGroupAlias` as its backend
/// expands them (`postgresMetaQuery.ts`, `macros.go`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grafanas_pickers_and_a_time_filtered_panel_query_answer() {
    let data = tempfile::tempdir().unwrap();
    let (server, client) = bi_tool_session(data.path(), None).await;
    assert_eq!(
        text_rows(
            &client,
            "SELECT current_setting('server_version_num')::int/100 as version"
        )
        .await,
        [["1500"]]
    );
    assert!(
        text_rows(
            &client,
            "SELECT extversion FROM pg_extension WHERE extname = 'timescaledb'"
        )
        .await
        .is_empty()
    );
    let schemas = text_rows(
        &client,
        "SELECT schema_name AS \"name\"
    FROM information_schema.schemata
    WHERE schema_name NOT IN ('information_schema',
                              'pg_catalog',
                              'pg_toast',
                              '_timescaledb_cache',
                              '_timescaledb_catalog',
                              '_timescaledb_internal',
                              '_timescaledb_config',
                              'timescaledb_information',
                              'timescaledb_experimental')
    ORDER BY schema_name",
    )
    .await;
    assert_eq!(schemas, [["public"]]);
    let tables = text_rows(
        &client,
        "SELECT quote_ident(table_name) AS \"table\"
      FROM information_schema.tables
      WHERE quote_ident(table_schema) = 'public'
      ORDER BY 1",
    )
    .await;
    assert_eq!(tables, [["eddy_processing_log"], ["readings"], ["sensors"]]);
    let any_schema = text_rows(
        &client,
        &format!(
            "SELECT
    CASE WHEN {GRAFANA_SEARCH_PATH}
      THEN quote_ident(table_name)
      ELSE quote_ident(table_schema) || '.' || quote_ident(table_name)
    END AS \"table\"
    FROM information_schema.tables
    WHERE quote_ident(table_schema) NOT IN ('information_schema',
                             'pg_catalog',
                             '_timescaledb_cache',
                             '_timescaledb_catalog',
                             '_timescaledb_internal',
                             '_timescaledb_config',
                             'timescaledb_information',
                             'timescaledb_experimental')
    ORDER BY CASE WHEN {GRAFANA_SEARCH_PATH} THEN 0 ELSE 1 END, 1"
        ),
    )
    .await;
    assert_eq!(
        any_schema,
        [["eddy_processing_log"], ["readings"], ["sensors"]]
    );
    for table in ["sensors", "public.sensors"] {
        let columns = text_rows(
            &client,
            &format!(
                "SELECT quote_ident(column_name) AS \"column\", data_type AS \"type\"
    FROM information_schema.columns
    WHERE
      CASE WHEN array_length(parse_ident('{table}'),1) = 2
        THEN quote_ident(table_schema) = (parse_ident('{table}'))[1]
          AND quote_ident(table_name) = (parse_ident('{table}'))[2]
        ELSE quote_ident(table_name) = '{table}'
          AND {GRAFANA_SEARCH_PATH}
      END"
            ),
        )
        .await;
        assert_eq!(columns, [["id", "bigint"], ["room", "text"]], "{table}");
    }
    // A time series panel over six hours: `$__timeGroupAlias(ts, '1m')`, `$__timeFilter(ts)`.
    let panel = text_rows(
        &client,
        "SELECT
  floor(extract(epoch from ts)/60)*60 AS \"time\",
  avg(celsius) AS \"celsius\"
FROM readings
WHERE
  ts BETWEEN '2024-01-01T00:00:00Z' AND '2024-01-01T06:00:00Z'
GROUP BY 1
ORDER BY 1",
    )
    .await;
    assert_eq!(panel, [["1704067200", "21"], ["1704067260", "30"]]);
    server.stop();
}

/// DBeaver's first queries on connecting and its navigator's schema and type lists
/// (DBeaver 25, through its bundled pgjdbc), with `n.oid,n.*`, which names `oid` twice, and
/// its keyword list (pgjdbc's `getSQLKeywords`: Postgres' key words that are not SQL:2003's).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dbeavers_navigation_queries_answer() {
    let data = tempfile::tempdir().unwrap();
    let (server, client) =
        bi_tool_session(data.path(), Some((3, "DBeaver 25.1.5 - Main <eddy>"))).await;
    assert_eq!(
        text_rows(&client, "SELECT current_schema(),session_user").await,
        [["public", "eddy"]]
    );
    let namespaces = "SELECT n.oid,n.*,d.description FROM pg_catalog.pg_namespace n \
        LEFT OUTER JOIN pg_catalog.pg_description d ON d.objoid=n.oid AND d.objsubid=0 \
        AND d.classoid='pg_namespace'::regclass ORDER BY nspname";
    assert_eq!(
        column_names(&client, namespaces).await,
        ["oid", "oid", "nspname", "nspowner", "nspacl", "description"]
    );
    let names: Vec<String> = text_rows(&client, namespaces)
        .await
        .into_iter()
        .map(|row| row[2].clone())
        .collect();
    assert_eq!(names, ["information_schema", "pg_catalog", "public"]);
    let database = "SELECT db.oid,db.* FROM pg_catalog.pg_database db WHERE datname='eddy'";
    assert_eq!(text_rows(&client, database).await.len(), 1);
    assert_eq!(
        text_rows(
            &client,
            "SELECT * FROM pg_catalog.pg_settings where name='standard_conforming_strings'"
        )
        .await[0][..2],
        ["standard_conforming_strings", "on"]
    );
    let rows = text_rows(&client, PGJDBC_SQL_KEYWORDS).await;
    let [row] = rows.as_slice() else {
        panic!("one row of keywords: {rows:?}");
    };
    let keywords: Vec<&str> = row[0].split(',').collect();
    assert!(keywords.contains(&"abort") && keywords.contains(&"analyse"));
    assert!(!keywords.contains(&"select") && !keywords.contains(&"absolute"));
    assert_eq!(
        column_names(&client, "SELECT * FROM pg_catalog.pg_get_keywords()").await,
        ["word", "catcode", "barelabel", "catdesc", "baredesc"]
    );
    for probe in [
        "SELECT * FROM pg_catalog.pg_enum WHERE 1<>1 LIMIT 1",
        "SELECT reltype FROM pg_catalog.pg_class WHERE 1<>1 LIMIT 1",
    ] {
        assert!(text_rows(&client, probe).await.is_empty(), "{probe}");
    }
    let types = text_rows(
        &client,
        "SELECT t.oid,t.*,c.relkind,format_type(nullif(t.typbasetype, 0), t.typtypmod) as base_type_name, d.description FROM pg_catalog.pg_type t LEFT OUTER JOIN pg_catalog.pg_type et ON et.oid=t.typelem LEFT OUTER JOIN pg_catalog.pg_class c ON c.oid=t.typrelid LEFT OUTER JOIN pg_catalog.pg_description d ON t.oid=d.objoid WHERE t.typname IS NOT NULL AND (c.relkind IS NULL OR c.relkind = 'c') AND (et.typcategory IS NULL OR et.typcategory <> 'C')",
    )
    .await;
    assert!(
        types.iter().any(|row| row[2] == "timestamp"),
        "the type list has timestamp"
    );
    let relations = text_rows(
        &client,
        "SELECT c.oid,c.*,d.description,pg_catalog.pg_get_expr(c.relpartbound, c.oid) as partition_expr, \
         pg_catalog.pg_get_partkeydef(c.oid) as partition_key \
         FROM pg_catalog.pg_class c \
         LEFT OUTER JOIN pg_catalog.pg_description d ON d.objoid=c.oid AND d.objsubid=0 \
         AND d.classoid='pg_class'::regclass \
         WHERE c.relnamespace=2200 AND c.relkind not in ('i','I','c')",
    )
    .await;
    let mut relation_names: Vec<&str> = relations.iter().map(|row| row[2].as_str()).collect();
    relation_names.sort_unstable();
    assert_eq!(
        relation_names,
        ["eddy_processing_log", "readings", "sensors"]
    );
    server.stop();
}

/// Metabase's sync (through pgjdbc): its session commands (the isolation level it sets,
/// pgjdbc's read-only mode), schema list, table privileges, table list with descriptions
/// and row estimates, and field sync (which calls `format()`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metabases_sync_queries_answer() {
    let data = tempfile::tempdir().unwrap();
    let (server, client) = bi_tool_session(
        data.path(),
        Some((2, "Metabase v0.55.1 [f8f63fdf-d8f8-4573-86ea-4fe4a9548041]")),
    )
    .await;
    assert_eq!(
        text_rows(&client, "SHOW TRANSACTION ISOLATION LEVEL").await,
        [["read committed"]]
    );
    assert_eq!(text_rows(&client, "show timezone").await, [["UTC"]]);
    for (level, shown) in [
        ("READ UNCOMMITTED", "read uncommitted"),
        ("READ COMMITTED", "read committed"),
    ] {
        execute(
            &client,
            &format!("SET SESSION CHARACTERISTICS AS TRANSACTION ISOLATION LEVEL {level}"),
        )
        .await;
        assert_eq!(
            text_rows(&client, "SHOW TRANSACTION ISOLATION LEVEL").await,
            [[shown]]
        );
    }
    assert_eq!(
        error_code(
            &client,
            "SET SESSION CHARACTERISTICS AS TRANSACTION ISOLATION LEVEL SERIALIZABLE"
        )
        .await,
        SqlState::FEATURE_NOT_SUPPORTED
    );
    // pgjdbc's setReadOnly(true) with readOnlyMode=always: writes are refused until READ WRITE.
    execute(
        &client,
        "SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY",
    )
    .await;
    assert_eq!(
        text_rows(&client, "SHOW transaction_read_only").await,
        [["on"]]
    );
    assert_eq!(
        error_code(
            &client,
            "INSERT INTO sensors (id, room) VALUES (3, 'attic')"
        )
        .await,
        SqlState::READ_ONLY_SQL_TRANSACTION
    );
    execute(
        &client,
        "SET SESSION CHARACTERISTICS AS TRANSACTION READ WRITE",
    )
    .await;
    let schemas = text_rows(
        &client,
        r#"SELECT nspname AS "TABLE_SCHEM", current_database() AS "TABLE_CATALOG" FROM pg_catalog.pg_namespace  WHERE nspname <> 'pg_toast' AND (nspname !~ '^pg_temp_'  OR nspname = (pg_catalog.current_schemas(true))[1]) AND (nspname !~ '^pg_toast_temp_'  OR nspname = replace((pg_catalog.current_schemas(true))[1], 'pg_temp_', 'pg_toast_temp_'))  ORDER BY "TABLE_SCHEM""#,
    )
    .await;
    assert_eq!(
        schemas,
        [
            ["information_schema", "eddy"],
            ["pg_catalog", "eddy"],
            ["public", "eddy"]
        ]
    );
    let privileges = text_rows(
        &client,
        r#"with table_privileges as (
         select
           NULL as role,
           t.schemaname as schema,
           t.objectname as table,
           pg_catalog.has_any_column_privilege(current_user, '"' || replace(t.schemaname, '"', '""') || '"' || '.' || '"' || replace(t.objectname, '"', '""') || '"',  'update') as update,
           pg_catalog.has_any_column_privilege(current_user, '"' || replace(t.schemaname, '"', '""') || '"' || '.' || '"' || replace(t.objectname, '"', '""') || '"',  'select') as select,
           pg_catalog.has_any_column_privilege(current_user, '"' || replace(t.schemaname, '"', '""') || '"' || '.' || '"' || replace(t.objectname, '"', '""') || '"',  'insert') as insert,
           pg_catalog.has_table_privilege(     current_user, '"' || replace(t.schemaname, '"', '""') || '"' || '.' || '"' || replace(t.objectname, '"', '""') || '"',  'delete') as delete
         from (
           select schemaname, tablename as objectname from pg_catalog.pg_tables
           union
           select schemaname, viewname as objectname from pg_catalog.pg_views
           union
           select schemaname, matviewname as objectname from pg_catalog.pg_matviews
         ) t
         where t.schemaname !~ '^pg_'
           and t.schemaname <> 'information_schema'
           and pg_catalog.has_schema_privilege(current_user, t.schemaname, 'usage')
        )
        select t.*
        from table_privileges t"#,
    )
    .await;
    let mut privileges: Vec<String> = privileges.into_iter().map(|row| row.join(" ")).collect();
    privileges.sort();
    assert_eq!(
        privileges,
        [
            "NULL public eddy_processing_log t t t t",
            "NULL public readings t t t t",
            "NULL public sensors t t t t"
        ]
    );
    let tables = text_rows(
        &client,
        r#"SELECT "n"."nspname" AS "schema", "c"."relname" AS "name", CASE "c"."relkind" WHEN 'r' THEN 'TABLE' WHEN 'p' THEN 'PARTITIONED TABLE' WHEN 'v' THEN 'VIEW' WHEN 'f' THEN 'FOREIGN TABLE' WHEN 'm' THEN 'MATERIALIZED VIEW' ELSE NULL END AS "type", "d"."description" AS "description", "stat"."n_live_tup" AS "estimated_row_count" FROM "pg_catalog"."pg_class" AS "c" INNER JOIN "pg_catalog"."pg_namespace" AS "n" ON "c"."relnamespace" = "n"."oid" LEFT JOIN "pg_catalog"."pg_description" AS "d" ON ("c"."oid" = "d"."objoid") AND ("d"."objsubid" = '0') AND ("d"."classoid" = 'pg_class'::regclass) LEFT JOIN "pg_stat_user_tables" AS "stat" ON ("n"."nspname" = "stat"."schemaname") AND ("c"."relname" = "stat"."relname") WHERE ("c"."relnamespace" = "n"."oid") AND ("n"."nspname" !~ '^pg_') AND ("n"."nspname" <> 'information_schema') AND c.relkind in ('r', 'p', 'v', 'f', 'm') AND ("n"."nspname" IN ('public')) ORDER BY "type" ASC, "schema" ASC, "name" ASC"#,
    )
    .await;
    let tables: Vec<String> = tables
        .into_iter()
        .map(|row| format!("{} {} {}", row[1], row[2], row[3]))
        .collect();
    assert_eq!(
        tables,
        [
            "eddy_processing_log TABLE stream",
            "readings TABLE stream",
            "sensors TABLE table"
        ]
    );
    let fields = client
        .query(METABASE_DESCRIBE_FIELDS, &[&"ALWAYS", &"public", &"public"])
        .await
        .expect("the field sync answers");
    let sensors: Vec<String> = fields
        .iter()
        .filter(|row| row.get::<_, String>("table-name") == "sensors")
        .map(|row| {
            format!(
                "{} {} {} {}",
                row.get::<_, String>("name"),
                row.get::<_, String>("database-type"),
                row.get::<_, i64>("database-position"),
                row.get::<_, bool>("pk?"),
            )
        })
        .collect();
    assert_eq!(sensors, ["id int8 0 true", "room text 1 false"]);
    server.stop();
}

/// Metabase's field sync (`describe-fields-sql`, as Metabase 0.55 sent it, captured by
/// datafusion-postgres): `information_schema.columns` with primary keys, and the columns of
/// materialized views from `pg_attribute`; `format('%I.%I', ..)::regclass` names each table.
const METABASE_DESCRIBE_FIELDS: &str = r#"SELECT "c"."column_name" AS "name", CASE WHEN "c"."udt_schema" IN ('public', 'pg_catalog') THEN FORMAT('%s', "c"."udt_name") ELSE FORMAT('"%s"."%s"', "c"."udt_schema", "c"."udt_name") END AS "database-type", "c"."ordinal_position" - 1 AS "database-position", "c"."table_schema" AS "table-schema", "c"."table_name" AS "table-name", "pk"."column_name" IS NOT NULL AS "pk?", COL_DESCRIPTION(CAST(CAST(FORMAT('%I.%I', CAST("c"."table_schema" AS TEXT), CAST("c"."table_name" AS TEXT)) AS REGCLASS) AS OID), "c"."ordinal_position") AS "field-comment", (("column_default" IS NULL) OR (LOWER("column_default") = 'null')) AND ("is_nullable" = 'NO') AND NOT ((("column_default" IS NOT NULL) AND ("column_default" LIKE '%nextval(%')) OR ("is_identity" <> 'NO')) AS "database-required", "column_default" AS "database-default", (("column_default" IS NOT NULL) AND ("column_default" LIKE '%nextval(%')) OR ("is_identity" <> 'NO') AS "database-is-auto-increment", "is_generated" = $1 AS "database-is-generated", "is_nullable" = 'YES' AS "database-is-nullable" FROM "information_schema"."columns" AS "c" LEFT JOIN (SELECT "tc"."table_schema", "tc"."table_name", "kc"."column_name" FROM "information_schema"."table_constraints" AS "tc" INNER JOIN "information_schema"."key_column_usage" AS "kc" ON ("tc"."constraint_name" = "kc"."constraint_name") AND ("tc"."table_schema" = "kc"."table_schema") AND ("tc"."table_name" = "kc"."table_name") WHERE "tc"."constraint_type" = 'PRIMARY KEY') AS "pk" ON ("c"."table_schema" = "pk"."table_schema") AND ("c"."table_name" = "pk"."table_name") AND ("c"."column_name" = "pk"."column_name") WHERE c.table_schema !~ '^information_schema|catalog_history|pg_' AND ("c"."table_schema" IN ($2)) UNION ALL SELECT "pa"."attname" AS "name", CASE WHEN "ptn"."nspname" IN ('public', 'pg_catalog') THEN FORMAT('%s', "pt"."typname") ELSE FORMAT('"%s"."%s"', "ptn"."nspname", "pt"."typname") END AS "database-type", "pa"."attnum" - 1 AS "database-position", "pn"."nspname" AS "table-schema", "pc"."relname" AS "table-name", FALSE AS "pk?", NULL AS "field-comment", FALSE AS "database-required", NULL AS "database-default", FALSE AS "database-is-auto-increment", FALSE AS "database-is-generated", FALSE AS "database-is-nullable" FROM "pg_catalog"."pg_class" AS "pc" INNER JOIN "pg_catalog"."pg_namespace" AS "pn" ON "pn"."oid" = "pc"."relnamespace" INNER JOIN "pg_catalog"."pg_attribute" AS "pa" ON "pa"."attrelid" = "pc"."oid" INNER JOIN "pg_catalog"."pg_type" AS "pt" ON "pt"."oid" = "pa"."atttypid" INNER JOIN "pg_catalog"."pg_namespace" AS "ptn" ON "ptn"."oid" = "pt"."typnamespace" WHERE ("pc"."relkind" = 'm') AND ("pa"."attnum" >= 1) AND ("pn"."nspname" IN ($3)) ORDER BY "table-schema" ASC, "table-name" ASC, "database-position" ASC"#;

/// Each result of a simple query of several statements: its rows, columns as text.
async fn result_sets(client: &Client, sql: &str) -> Vec<Vec<Vec<String>>> {
    let messages = client
        .simple_query(sql)
        .await
        .unwrap_or_else(|error| panic!("{sql}\nfails: {error}"));
    let mut results = Vec::new();
    let mut rows = Vec::new();
    for message in messages {
        match message {
            SimpleQueryMessage::Row(row) => rows.push(
                (0..row.len())
                    .map(|index| row.get(index).unwrap_or("NULL").to_string())
                    .collect(),
            ),
            SimpleQueryMessage::CommandComplete(_) => results.push(std::mem::take(&mut rows)),
            _ => {}
        }
    }
    results
}

/// Npgsql's type loading (`PostgresDatabaseInfo.LoadBackendTypes`, which cannot run here:
/// no .NET): its four-statement batch answers with Eddy's types, base types before the
/// arrays of them (told apart by `typreceive = array_recv`, a regproc compared with
/// `pg_proc.oid`), and no composite or enum types.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn npgsqls_type_loading_answers_with_eddys_types() {
    let data = tempfile::tempdir().unwrap();
    let server = Server::start(data.path(), &[]);
    let client = server.connect().await;
    let results = result_sets(&client, NPGSQL_LOAD_TYPES).await;
    let [version, types, composites, enums] = results.as_slice() else {
        panic!("four results: {results:?}");
    };
    assert!(version[0][0].starts_with("PostgreSQL 15"), "{version:?}");
    assert!(composites.is_empty() && enums.is_empty());
    // nspname, oid, typname, typtype, typnotnull, elemtypoid
    let row_of = |name: &str| {
        types
            .iter()
            .position(|row| row[2] == name)
            .unwrap_or_else(|| panic!("{name} is loaded: {types:?}"))
    };
    assert_eq!(types[row_of("int8")][1..], ["20", "int8", "b", "f", "NULL"]);
    assert_eq!(
        types[row_of("_int8")][1..],
        ["1016", "_int8", "a", "f", "20"]
    );
    for (index, row) in types.iter().enumerate() {
        assert_eq!(row[0], "pg_catalog");
        if row[3] == "a" {
            let element = types
                .iter()
                .position(|element| element[1] == row[5])
                .unwrap_or_else(|| panic!("the element of {row:?} is loaded"));
            assert!(element < index, "{row:?} comes after its element");
        }
    }
    server.stop();
}

/// The batch Npgsql sends (`PostgresDatabaseInfo.cs` of its main branch: `SELECT version();`
/// then `GenerateLoadTypesQuery` with ranges and multiranges, as for a server of version 14
/// or later, `GenerateLoadCompositeTypesQuery` and `GenerateLoadEnumFieldsQuery`, table
/// composites not loaded), each appended with a newline.
const NPGSQL_LOAD_TYPES: &str = "SELECT version();

SELECT ns.nspname, t.oid, t.typname, t.typtype, t.typnotnull, t.elemtypoid
FROM (
    -- Arrays have typtype=b - this subquery identifies them by their typreceive and converts their typtype to a
    -- We first do this for the type (innerest-most subquery), and then for its element type
    -- This also returns the array element, range subtype and domain base type as elemtypoid
    SELECT
        typ.oid, typ.typnamespace, typ.typname, typ.typtype, typ.typrelid, typ.typnotnull, typ.relkind,
        elemtyp.oid AS elemtypoid, elemtyp.typname AS elemtypname, elemcls.relkind AS elemrelkind,
        CASE WHEN elemproc.proname='array_recv' THEN 'a' ELSE elemtyp.typtype END AS elemtyptype
    FROM (
        SELECT typ.oid, typnamespace, typname, typrelid, typnotnull, relkind, typelem AS elemoid,
            CASE WHEN proc.proname='array_recv' THEN 'a' ELSE typ.typtype END AS typtype,
            CASE
                WHEN proc.proname='array_recv' THEN typ.typelem
                WHEN typ.typtype='r' THEN rngsubtype
                WHEN typ.typtype='m' THEN (SELECT rngtypid FROM pg_range WHERE rngmultitypid = typ.oid)
                WHEN typ.typtype='d' THEN typ.typbasetype
            END AS elemtypoid
        FROM pg_type AS typ
        LEFT JOIN pg_class AS cls ON (cls.oid = typ.typrelid)
        LEFT JOIN pg_proc AS proc ON proc.oid = typ.typreceive
        LEFT JOIN pg_range ON (pg_range.rngtypid = typ.oid)
    ) AS typ
    LEFT JOIN pg_type AS elemtyp ON elemtyp.oid = elemtypoid
    LEFT JOIN pg_class AS elemcls ON (elemcls.oid = elemtyp.typrelid)
    LEFT JOIN pg_proc AS elemproc ON elemproc.oid = elemtyp.typreceive
) AS t
JOIN pg_namespace AS ns ON (ns.oid = typnamespace)
WHERE
    typtype IN ('b', 'r', 'm', 'e', 'd') OR -- Base, range, multirange, enum, domain
    (typtype = 'c' AND relkind='c') OR -- User-defined free-standing composites (not table composites) by default
    (typtype = 'p' AND typname IN ('record', 'void')) OR -- Some special supported pseudo-types
    (typtype = 'a' AND (  -- Array of...
        elemtyptype IN ('b', 'r', 'm', 'e', 'd') OR -- Array of base, range, multirange, enum, domain
        (elemtyptype = 'p' AND elemtypname IN ('record', 'void')) OR -- Arrays of special supported pseudo-types
        (elemtyptype = 'c' AND elemrelkind='c') -- Array of user-defined free-standing composites (not table composites) by default
    ))
ORDER BY CASE
       WHEN typtype IN ('b', 'e', 'p') THEN 0           -- First base types, enums, pseudo-types
       WHEN typtype = 'r' THEN 1                        -- Ranges after
       WHEN typtype = 'm' THEN 2                        -- Multiranges after
       WHEN typtype = 'c' THEN 3                        -- Composites after
       WHEN typtype = 'd' AND elemtyptype <> 'a' THEN 4 -- Domains over non-arrays after
       WHEN typtype = 'a' THEN 5                        -- Arrays after
       WHEN typtype = 'd' AND elemtyptype = 'a' THEN 6  -- Domains over arrays last
END;

-- Load field definitions for (free-standing) composite types
SELECT typ.oid, att.attname, att.atttypid
FROM pg_type AS typ
JOIN pg_namespace AS ns ON (ns.oid = typ.typnamespace)
JOIN pg_class AS cls ON (cls.oid = typ.typrelid)
JOIN pg_attribute AS att ON (att.attrelid = typ.typrelid)
WHERE
  (typ.typtype = 'c' AND cls.relkind='c') AND
  attnum > 0 AND     -- Don't load system attributes
  NOT attisdropped
ORDER BY typ.oid, att.attnum;

-- Load enum fields
SELECT pg_type.oid, enumlabel
FROM pg_enum
JOIN pg_type ON pg_type.oid=enumtypid
ORDER BY oid, enumsortorder;
";
